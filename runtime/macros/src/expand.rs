//! The expansion: the `async fn` becomes a plain `fn` that builds a
//! runtime and blocks on the original body.

use proc_macro::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};

use crate::function::Function;
use crate::options::Options;
use crate::Kind;

/// Expands `#[runtime::main]` or `#[runtime::test]` (per `kind`): the
/// function on success; on a misuse, the error and, where the item was a
/// function, an empty stand-in of it, so that rustc reports nothing else
/// (such as a missing `main`).
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let function = match Function::parse(item.clone(), kind) {
        Ok(function) => function,
        Err(error) => {
            let mut out = error.into_compile_error();
            out.extend(stand_in(item));
            return out;
        }
    };
    match Options::parse(args, kind) {
        Ok(options) => expand_function(kind, &options, function),
        Err(error) => {
            let mut out = error.into_compile_error();
            out.extend(stand_in(item));
            out
        }
    }
}

/// The function, rewritten:
///
/// ```text
/// <attrs> [#[test]] <vis> <qualifiers> fn <name>() <output> {
///     <runtime>.block_on(async <body>)
/// }
/// ```
fn expand_function(kind: Kind, options: &Options, function: Function) -> TokenStream {
    let krate = options.krate.clone().unwrap_or_else(|| code("::runtime"));
    let runtime = match options.start_paused {
        Some(paused) => {
            let mut runtime = krate;
            runtime.extend(code(&format!(
                "::Builder::new().start_paused({paused}).build().expect({:?})",
                build_failed(kind)
            )));
            runtime
        }
        None => {
            let mut runtime = krate;
            runtime.extend(code(&format!(
                "::Runtime::new().expect({:?})",
                build_failed(kind)
            )));
            runtime
        }
    };

    // `<runtime>.block_on(async <body>)`
    let mut call = runtime;
    call.extend(code(".block_on"));
    let async_body: TokenStream = [
        TokenTree::Ident(Ident::new("async", Span::call_site())),
        TokenTree::Group(function.body.clone()),
    ]
    .into_iter()
    .collect();
    call.extend([TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        async_body,
    ))]);
    let mut body = Group::new(Delimiter::Brace, call);
    body.set_span(function.body.span());

    let mut out = function.attrs;
    if kind == Kind::Test {
        out.extend(code("#[::core::prelude::v1::test]"));
    }
    out.extend(function.vis);
    out.extend(function.qualifiers);
    out.extend([
        TokenTree::Ident(function.fn_token),
        TokenTree::Ident(function.name),
        TokenTree::Group(function.params),
    ]);
    out.extend(function.output);
    out.extend([TokenTree::Group(body)]);
    out
}

/// The panic message if the runtime cannot be built (no file descriptors
/// left for its epoll instance, say).
fn build_failed(kind: Kind) -> String {
    format!("#[{}]: could not build the runtime", kind.attribute())
}

/// After an error: a plain empty function with the item's visibility and
/// name, if the item is a function, so that nothing else (a missing
/// `main`, calls to the function) is reported; otherwise the item as it
/// was.
fn stand_in(item: TokenStream) -> TokenStream {
    let tokens: Vec<TokenTree> = item.clone().into_iter().collect();
    let name = tokens.windows(2).find_map(|pair| match pair {
        [TokenTree::Ident(fn_token), TokenTree::Ident(name)] if fn_token.to_string() == "fn" => {
            Some(name.clone())
        }
        _ => None,
    });
    let Some(name) = name else {
        return item;
    };
    let is_pub = tokens
        .iter()
        .take_while(|tree| !matches!(tree, TokenTree::Ident(i) if i.to_string() == "fn"))
        .any(|tree| matches!(tree, TokenTree::Ident(i) if i.to_string() == "pub"));
    let mut out = code("#[allow(dead_code)]");
    if is_pub {
        out.extend(code("pub"));
    }
    out.extend(code("fn"));
    out.extend([TokenTree::Ident(name)]);
    out.extend(code("() {}"));
    out
}

/// Tokens of fixed generated code, at the attribute's call site.
fn code(text: &str) -> TokenStream {
    text.parse()
        .expect("the macro's own code is valid Rust tokens")
}
