//! [`Function`]: the `async fn` under the attribute, split by hand into
//! the parts the expansion keeps, moves or replaces.
//!
//! The grammar accepted is a function item's, in order: outer attributes,
//! a visibility, qualifiers (`async`, and whatever else the user wrote,
//! which rustc then judges), `fn`, a name, a parameter list, anything up to
//! the body (`-> Type`, a `where` clause), and the body. Each misuse is an
//! [`Error`] at the token that shows it.

use proc_macro::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};

use crate::error::Error;
use crate::Kind;

/// An `async fn` item, in parts.
#[derive(Debug)]
pub(crate) struct Function {
    /// The outer attributes (doc comments, `#[ignore]`, ...), as written.
    pub(crate) attrs: TokenStream,
    /// `pub`, `pub(crate)`, or nothing.
    pub(crate) vis: TokenStream,
    /// Qualifiers other than `async` (`unsafe`, `extern "C"`), as written.
    pub(crate) qualifiers: TokenStream,
    /// The `fn` keyword.
    pub(crate) fn_token: Ident,
    /// The function's name.
    pub(crate) name: Ident,
    /// The (empty) parameter list, with its span.
    pub(crate) params: Group,
    /// Everything between the parameters and the body: `-> Type`, a
    /// `where` clause, or nothing.
    pub(crate) output: TokenStream,
    /// The body, braces included.
    pub(crate) body: Group,
}

impl Function {
    /// Splits `item`, checking that it is an `async fn` without generics
    /// or parameters.
    ///
    /// # Errors
    ///
    /// At the first token that does not fit, with a message saying what
    /// `#[runtime::main]` or `#[runtime::test]` (per `kind`) needs.
    pub(crate) fn parse(item: TokenStream, kind: Kind) -> Result<Function, Error> {
        let mut tokens = item.into_iter().peekable();
        let attr = kind.attribute();

        // Outer attributes: `#` and a bracketed group, any number of them.
        let mut attrs = TokenStream::new();
        while matches!(tokens.peek(), Some(TokenTree::Punct(p)) if p.as_char() == '#') {
            let hash = tokens.next().expect("peeked");
            let Some(TokenTree::Group(group)) =
                tokens.next_if(|tree| is_group(tree, Delimiter::Bracket))
            else {
                return Err(Error::new(hash.span(), "expected an attribute after `#`"));
            };
            if kind == Kind::Test && is_plain_test(&group) {
                return Err(Error::spanning(
                    hash.span(),
                    group.span(),
                    "`#[runtime::test]` already makes this function a test: remove this `#[test]`",
                ));
            }
            attrs.extend([hash, TokenTree::Group(group)]);
        }

        // Visibility: `pub`, optionally with a parenthesized scope.
        let mut vis = TokenStream::new();
        if let Some(pub_token) = tokens.next_if(|tree| is_ident(tree, "pub")) {
            vis.extend([pub_token]);
            if let Some(scope) = tokens.next_if(|tree| is_group(tree, Delimiter::Parenthesis)) {
                vis.extend([scope]);
            }
        }

        // Qualifiers, up to `fn`.
        let mut qualifiers = TokenStream::new();
        let mut is_async = false;
        let fn_token = loop {
            match tokens.next() {
                Some(TokenTree::Ident(ident)) if ident.to_string() == "fn" => break ident,
                Some(TokenTree::Ident(ident)) if ident.to_string() == "async" => is_async = true,
                Some(tree) if is_qualifier(&tree) => qualifiers.extend([tree]),
                Some(tree) => {
                    return Err(Error::new(
                        tree.span(),
                        format!("`#[{attr}]` goes on an `async fn`"),
                    ))
                }
                None => {
                    return Err(Error::new(
                        Span::call_site(),
                        format!("`#[{attr}]` goes on an `async fn`"),
                    ))
                }
            }
        };
        if !is_async {
            return Err(Error::new(
                fn_token.span(),
                format!("`#[{attr}]` needs an `async fn`: add `async` before `fn`"),
            ));
        }

        let name = match tokens.next() {
            Some(TokenTree::Ident(name)) => name,
            Some(tree) => return Err(Error::new(tree.span(), "expected the function's name")),
            None => return Err(Error::new(fn_token.span(), "expected the function's name")),
        };

        let params = match tokens.next() {
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis => group,
            Some(TokenTree::Punct(p)) if p.as_char() == '<' => {
                return Err(Error::new(
                    p.span(),
                    format!("a `#[{attr}]` function cannot have generic parameters"),
                ))
            }
            Some(tree) => return Err(Error::new(tree.span(), "expected the parameter list")),
            None => return Err(Error::new(name.span(), "expected the parameter list")),
        };
        if !params.stream().is_empty() {
            let message = match kind {
                Kind::Main => {
                    "the main function cannot take arguments: \
                               read them with `std::env::args()`"
                }
                Kind::Test => "a test function cannot take arguments",
            };
            return Err(Error::new(params.span(), message));
        }

        // The rest: the output type and where clause, then the body last.
        let mut rest: Vec<TokenTree> = tokens.collect();
        let body = match rest.pop() {
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => group,
            Some(tree) => return Err(Error::new(tree.span(), "expected the function's body")),
            None => return Err(Error::new(params.span(), "expected the function's body")),
        };

        Ok(Function {
            attrs,
            vis,
            qualifiers,
            fn_token,
            name,
            params,
            output: rest.into_iter().collect(),
            body,
        })
    }
}

/// Whether `tree` is the identifier `word`.
fn is_ident(tree: &TokenTree, word: &str) -> bool {
    matches!(tree, TokenTree::Ident(ident) if ident.to_string() == word)
}

/// Whether `tree` is a group in `delimiter`s.
fn is_group(tree: &TokenTree, delimiter: Delimiter) -> bool {
    matches!(tree, TokenTree::Group(group) if group.delimiter() == delimiter)
}

/// Whether `tree` may stand among a function's qualifiers: `const`,
/// `unsafe`, `extern` and its ABI string. rustc judges whether they make
/// sense on the expanded function.
fn is_qualifier(tree: &TokenTree) -> bool {
    match tree {
        TokenTree::Ident(ident) => {
            matches!(ident.to_string().as_str(), "const" | "unsafe" | "extern")
        }
        TokenTree::Literal(_) => true,
        _ => false,
    }
}

/// Whether an attribute's brackets hold just `test` (or the prelude's
/// full path to it).
fn is_plain_test(brackets: &Group) -> bool {
    let words: Vec<String> = brackets
        .stream()
        .into_iter()
        .filter(|tree| !matches!(tree, TokenTree::Punct(p) if p.as_char() == ':'))
        .map(|tree| tree.to_string())
        .collect();
    words == ["test"] || words == ["core", "prelude", "v1", "test"]
}
