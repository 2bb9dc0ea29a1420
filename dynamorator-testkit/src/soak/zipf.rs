//! A zipfian choice of key: rank `r` (0 the most popular) is drawn with probability
//! proportional to `1 / (r + 1)^s`, as YCSB's workloads draw keys (`s` = 0.99).

/// A zipfian distribution over `0..n`, sampled by a binary search of its cumulative weights
/// (one `f64` per rank, made once).
#[derive(Debug, Clone)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    /// YCSB's exponent.
    pub const YCSB: f64 = 0.99;

    /// Ranks `0..n` (at least one) with exponent `s`.
    pub fn new(n: usize, s: f64) -> Zipf {
        let n = n.max(1);
        let mut cumulative = Vec::with_capacity(n);
        let mut total = 0.0;
        for rank in 0..n {
            total += 1.0 / ((rank + 1) as f64).powf(s);
            cumulative.push(total);
        }
        for weight in &mut cumulative {
            *weight /= total;
        }
        Zipf { cumulative }
    }

    /// How many ranks there are.
    pub fn len(&self) -> usize {
        self.cumulative.len()
    }

    /// Always false: a distribution has at least one rank.
    pub fn is_empty(&self) -> bool {
        self.cumulative.is_empty()
    }

    /// One rank, drawn with `rng`.
    pub fn sample(&self, rng: &mut fastrand::Rng) -> usize {
        let draw = rng.f64();
        self.cumulative
            .partition_point(|weight| *weight < draw)
            .min(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_ranks_are_the_most_drawn_and_every_draw_is_in_range() {
        let zipf = Zipf::new(1_000, Zipf::YCSB);
        let mut rng = fastrand::Rng::with_seed(7);
        let mut counts = vec![0_u32; zipf.len()];
        for _ in 0..100_000 {
            counts[zipf.sample(&mut rng)] += 1;
        }
        assert!(counts[0] > counts[1] && counts[1] > counts[10] && counts[10] > counts[500]);
        // Rank 0 has 1 / H(1000, 0.99) of the weight: about 13 %.
        assert!((11_000..15_000).contains(&counts[0]), "{}", counts[0]);
        assert!(counts[999] > 0, "the tail is drawn too");
    }
}
