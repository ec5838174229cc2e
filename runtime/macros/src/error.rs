//! [`Error`]: a misuse of the attribute, reported as a `compile_error!`
//! that points at the user's tokens.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// What was wrong, and where in the user's code.
#[derive(Debug)]
pub(crate) struct Error {
    /// Where the offending tokens begin.
    start: Span,
    /// Where they end (the same as `start` for one token).
    end: Span,
    /// What to tell the user.
    message: String,
}

impl Error {
    /// An error pointing at one token (a group's span covers all of it).
    pub(crate) fn new(span: Span, message: impl Into<String>) -> Error {
        Error::spanning(span, span, message)
    }

    /// An error pointing at the tokens from `start` to `end`.
    pub(crate) fn spanning(start: Span, end: Span, message: impl Into<String>) -> Error {
        Error {
            start,
            end,
            message: message.into(),
        }
    }

    /// `::core::compile_error! { "message" }`, with the path's tokens at
    /// `start` and the braces at `end`: rustc reports a macro call's error
    /// over the span from its first token to its last, so the message
    /// underlines exactly the offending tokens, not the whole attribute.
    pub(crate) fn into_compile_error(self) -> TokenStream {
        let at_start = |mut tree: TokenTree| {
            tree.set_span(self.start);
            tree
        };
        let mut message = TokenTree::Literal(Literal::string(&self.message));
        message.set_span(self.end);
        let mut braces = Group::new(Delimiter::Brace, TokenStream::from(message));
        braces.set_span(self.end);
        [
            at_start(Punct::new(':', Spacing::Joint).into()),
            at_start(Punct::new(':', Spacing::Alone).into()),
            at_start(Ident::new("core", Span::call_site()).into()),
            at_start(Punct::new(':', Spacing::Joint).into()),
            at_start(Punct::new(':', Spacing::Alone).into()),
            at_start(Ident::new("compile_error", Span::call_site()).into()),
            at_start(Punct::new('!', Spacing::Alone).into()),
            TokenTree::Group(braces),
        ]
        .into_iter()
        .collect()
    }
}
