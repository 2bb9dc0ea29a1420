//! What an input that fails the checks expands to: its errors, and a `Cached` impl anyway, so
//! the user sees those errors and not a second one wherever the type is used. The crate does
//! not compile, so the impl's body never runs.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::generics;

pub fn expand(input: &DeriveInput, errors: syn::Error) -> TokenStream {
    let name = generics::generated_name(&input.ident);
    let (impl_generics, type_generics, _) = input.generics.split_for_impl();
    // Without the check of `generics::cache_value_check`: a type that is not serde's either is
    // told so once its attributes are fixed.
    let predicates = generics::where_predicates(&name, &input.generics);
    let errors = errors.into_compile_error();
    quote! {
        #errors

        #[automatically_derived]
        impl #impl_generics ::dynamorator::Cached for #name #type_generics
        where
            #predicates
        {
            fn config() -> ::dynamorator::CacheConfig {
                ::core::unreachable!()
            }
        }
    }
}
