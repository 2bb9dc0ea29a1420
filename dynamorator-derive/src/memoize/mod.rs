//! `#[memoize(...)]` on an `async fn`: a free function, or a method or associated function of
//! an inherent `impl` block. Parse the attribute (`attrs`), check it and the function into a
//! model (`model`; every misuse an error on the user's token), then expand it to the function
//! reading through its cache (`wrapper`) and to its companion (`companion`), from the
//! expressions they share (`parts`). Data flows one way: parse → check → expand.

pub mod attrs;
mod companion;
mod model;
mod parts;
mod wrapper;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ItemFn;

pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                "#[memoize] works on an `async fn` (a free function, or a method or associated \
                 function of an `impl` block): write it on `async fn name(...)`",
            );
            let error = error.into_compile_error();
            return quote!(#error #item);
        }
    };
    match model::check(args, &function) {
        Ok(memo) => crate::runtime::with(memo.krate.clone(), || {
            let wrapper = wrapper::expand(&memo);
            let companion = companion::expand(&memo);
            quote!(#wrapper #companion)
        }),
        // The function as written beside its errors, so its callers see no second error.
        Err(errors) => {
            let errors = errors.into_compile_error();
            quote!(#errors #function)
        }
    }
}
