//! The checked model of a memoised function: what `wrapper` and `companion` turn into tokens.
//! Every misuse is an error on the user's token; all are collected, so one compile shows them
//! all.

use proc_macro2::{Span, TokenStream};
use syn::{
    Expr, FnArg, GenericArgument, GenericParam, Ident, ItemFn, Pat, PatIdent, PathArguments,
    ReturnType, Type,
};

use super::attrs;
use crate::ast::Config;
use crate::valid;

/// The longest prefix accepted: with `:v{version}:` and the 64-digit hash the key stays far
/// below DynamoDB's 2048 bytes.
const MAX_PREFIX: usize = 1024;

/// A checked memoised function.
pub struct Memo<'a> {
    pub function: &'a ItemFn,
    pub site: Site,
    pub store: Expr,
    pub key: Option<Expr>,
    pub args: Vec<Arg>,
    pub returns: Returns,
    pub config: Config,
    /// Whether `prefix` was given; without it the prefix is the function's path.
    pub prefix_given: bool,
    /// `crate = "..."`: the runtime crate's path, when not `::dynamorator`.
    pub krate: Option<proc_macro2::TokenStream>,
}

/// Where the function is: the attribute sees only the function, so a `self` (or `in_impl`)
/// is what says it is in an `impl` block.
pub enum Site {
    /// A free function: its companion is a module of its name.
    Free,
    /// In an inherent `impl` block: its companions are associated functions beside it.
    Impl {
        receiver: Option<Receiver>,
        /// What says it is in an `impl`: the `self` token, or the `in_impl` flag. The generated
        /// `Self` is on it, so outside an `impl` the error is there.
        self_span: Span,
    },
}

/// A method's `&self`.
pub struct Receiver {
    /// The `self` token: errors about `Self` (not `Serialize`, not `Clone`) are reported on it.
    pub self_span: Span,
    /// `skip(self)`: the receiver is not part of the key.
    pub skipped: bool,
}

/// One argument of the function.
pub struct Arg {
    /// Its name in the generated signature: the user's, or `__dynamorator_arg{i}` for a
    /// pattern.
    pub ident: Ident,
    /// The pattern as written, bound in the body.
    pub pat: Pat,
    pub ty: Type,
    /// `Some(U)` for a `&U`: the body gets a reference to an owned copy.
    pub borrowed: Option<Type>,
    pub skipped: bool,
}

pub enum Returns {
    /// `Result<T, E>`: an `Err` is returned, never stored. Boxed: one variant holds two types.
    Result { ok: Type, err: Box<Type> },
    /// Any other type: stored as it is.
    Value(Type),
}

impl Returns {
    pub fn value_type(&self) -> &Type {
        match self {
            Returns::Result { ok, .. } => ok,
            Returns::Value(ty) => ty,
        }
    }
}

impl Memo<'_> {
    pub fn receiver(&self) -> Option<&Receiver> {
        match &self.site {
            Site::Impl { receiver, .. } => receiver.as_ref(),
            Site::Free => None,
        }
    }
}

/// What the receiver turned out to be while checking.
enum SeenReceiver {
    None,
    Accepted(Receiver),
    /// Refused with an error: `skip(self)` is not a second one.
    Refused,
}

pub fn check(args: TokenStream, function: &ItemFn) -> Result<Memo<'_>, syn::Error> {
    let mut errors = Vec::new();
    let mut attrs = attrs::parse(args, &mut errors);
    let krate = attrs.config.krate.take();
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "#[memoize] works on an `async fn`: the value is read from the store, which takes \
             an `.await`; write `async fn`",
        ));
    }
    for param in &sig.generics.params {
        match param {
            GenericParam::Lifetime(_) => {}
            GenericParam::Type(_) | GenericParam::Const(_) => errors.push(syn::Error::new_spanned(
                param,
                "a memoised function cannot be generic over types or constants: one function \
                 has one cache of one value type; write a memoised function per type",
            )),
        }
    }
    let mut receiver = SeenReceiver::None;
    let mut args = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(written) => {
                receiver = SeenReceiver::Refused;
                let refusal = if written.colon_token.is_some() {
                    "a memoised method takes `&self`: write `&self` (the body gets a clone of \
                     `self`, so an `Arc<Self>` or `Pin` receiver would gain nothing)"
                } else if written.reference.is_none() {
                    "a memoised method cannot take `self` by value: the value may come from \
                     the cache without the body running, so `self` would be consumed for \
                     nothing; take `&self` (the body gets a clone of it)"
                } else if written.mutability.is_some() {
                    "a memoised method cannot take `&mut self`: when the value comes from the \
                     cache the body does not run, so nothing would be written through it, and \
                     the body may run after the call returned (a stale value's refresh); take \
                     `&self`"
                } else {
                    receiver = SeenReceiver::Accepted(Receiver {
                        self_span: written.self_token.span,
                        skipped: false,
                    });
                    continue;
                };
                errors.push(syn::Error::new_spanned(written, refusal));
            }
            FnArg::Typed(typed) => {
                let ty = (*typed.ty).clone();
                let borrowed = match &ty {
                    Type::Reference(reference) if reference.mutability.is_some() => {
                        errors.push(syn::Error::new_spanned(
                            &ty,
                            "a memoised function cannot take a `&mut` argument: when the value \
                             comes from the cache the body does not run, so nothing would be \
                             written through it",
                        ));
                        None
                    }
                    Type::Reference(reference) => Some((*reference.elem).clone()),
                    Type::ImplTrait(_) => {
                        errors.push(syn::Error::new_spanned(
                            &ty,
                            "a memoised function cannot take an `impl Trait` argument: it would \
                             be generic; name the type",
                        ));
                        None
                    }
                    _ => None,
                };
                let ident = match &*typed.pat {
                    Pat::Ident(PatIdent {
                        ident,
                        by_ref: None,
                        subpat: None,
                        ..
                    }) => ident.clone(),
                    _ => quote::format_ident!("__dynamorator_arg{i}"),
                };
                args.push(Arg {
                    ident,
                    pat: (*typed.pat).clone(),
                    ty,
                    borrowed,
                    skipped: false,
                });
            }
        }
    }
    for skipped in &attrs.skip {
        if skipped == "self" {
            match &mut receiver {
                SeenReceiver::Accepted(receiver) if receiver.skipped => errors.push(
                    syn::Error::new_spanned(skipped, "`self` is skipped twice: name it once"),
                ),
                SeenReceiver::Accepted(receiver) => receiver.skipped = true,
                SeenReceiver::Refused => {}
                SeenReceiver::None => errors.push(syn::Error::new_spanned(
                    skipped,
                    format!(
                        "`skip(self)`: `{}` takes no `self`; skip names what is left out of the \
                         key",
                        sig.ident
                    ),
                )),
            }
            continue;
        }
        match args.iter_mut().find(|arg| arg.ident == *skipped) {
            Some(arg) if arg.skipped => errors.push(syn::Error::new_spanned(
                skipped,
                format!("`{skipped}` is skipped twice: name it once"),
            )),
            Some(arg) => arg.skipped = true,
            None => errors.push(syn::Error::new_spanned(
                skipped,
                format!(
                    "`skip({skipped})`: the function has no argument named `{skipped}`; skip \
                     names the arguments left out of the key"
                ),
            )),
        }
    }
    let site = match (receiver, attrs.in_impl) {
        (SeenReceiver::Accepted(receiver), _) => Site::Impl {
            self_span: receiver.self_span,
            receiver: Some(receiver),
        },
        (_, Some(in_impl)) => Site::Impl {
            receiver: None,
            self_span: in_impl,
        },
        (_, None) => Site::Free,
    };
    let store = attrs.store.clone();
    if store.is_none() {
        errors.push(syn::Error::new(
            Span::call_site(),
            "#[memoize] needs the store: write `#[memoize(store = STORE)]`, where `STORE` gives \
             a `&dynamorator::Store` (a `static` with `LazyLock`, a function, or in a method a \
             field such as `self.store`)",
        ));
    }
    let returns = returns(&sig.output, &mut errors);
    let prefix_given = attrs.config.prefix.is_some();
    if let Some(prefix) = &attrs.config.prefix
        && prefix.value.len() > MAX_PREFIX
    {
        errors.push(syn::Error::new(
            prefix.span,
            format!(
                "this prefix is {} bytes long; a memoised function's prefix is at most \
                 {MAX_PREFIX}, so its keys stay within DynamoDB's 2048 bytes",
                prefix.value.len()
            ),
        ));
    }
    let config = valid::config(&sig.ident, attrs.config, &mut errors);
    if let (Some(hard), Some(Returns::Value(_))) = (&config.hard_timeout_ms, &returns) {
        errors.push(syn::Error::new(
            hard.span,
            "`hard_timeout_ms` needs a function returning `Result<T, E>`: past the hard timeout \
             the caller gets an error, and a function returning a plain value has none to \
             return",
        ));
    }
    let mut errors = errors.into_iter();
    match (errors.next(), store, returns) {
        (None, Some(store), Some(returns)) => Ok(Memo {
            function,
            site,
            store,
            key: attrs.key,
            args,
            returns,
            config,
            prefix_given,
            krate,
        }),
        (Some(mut first), _, _) => {
            first.extend(errors);
            Err(first)
        }
        // Unreachable: a missing store or return type is an error above.
        (None, _, _) => Err(syn::Error::new(Span::call_site(), "invalid #[memoize]")),
    }
}

/// `Result<T, E>` (written with both parameters), or a plain value.
fn returns(output: &ReturnType, errors: &mut Vec<syn::Error>) -> Option<Returns> {
    let ty = match output {
        ReturnType::Default => return Some(Returns::Value(syn::parse_quote!(()))),
        ReturnType::Type(_, ty) => ty,
    };
    if let Type::Path(path) = &**ty
        && path.qself.is_none()
        && let Some(last) = path.path.segments.last()
        && last.ident == "Result"
    {
        let types: Vec<&Type> = match &last.arguments {
            PathArguments::AngleBracketed(args) => args
                .args
                .iter()
                .filter_map(|arg| match arg {
                    GenericArgument::Type(ty) => Some(ty),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        return match types.as_slice() {
            [ok, err] => Some(Returns::Result {
                ok: (*ok).clone(),
                err: Box::new((*err).clone()),
            }),
            _ => {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "write the error type of a memoised function's `Result`: \
                     `Result<T, E>` (an alias such as `io::Result<T>` hides it); an `Err` is \
                     returned and never stored",
                ));
                None
            }
        };
    }
    Some(Returns::Value((**ty).clone()))
}
