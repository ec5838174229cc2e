//! [`Options`]: what the attribute's arguments ask for, parsed by hand
//! from `name = value, ...`.

use proc_macro::{Delimiter, Group, Literal, Span, TokenStream, TokenTree};

use crate::error::Error;
use crate::Kind;

/// The attribute's arguments.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// `start_paused = <bool>` (tests only): start the clock paused.
    pub(crate) start_paused: Option<bool>,
    /// `crate = "path"`: where the runtime crate is, if not `::runtime`
    /// (a renamed dependency, or a crate that re-exports it).
    pub(crate) krate: Option<TokenStream>,
}

impl Options {
    /// Parses the arguments of `#[runtime::main(...)]` or
    /// `#[runtime::test(...)]`.
    ///
    /// The options are `start_paused = true|false` (tests only),
    /// `flavor = "current_thread"` (tokio's spelling of what every runtime
    /// here is, accepted so that a tokio attribute ports unchanged) and
    /// `crate = "path"`.
    ///
    /// # Errors
    ///
    /// At the token of an unknown or repeated option, a missing `=` or
    /// value, or a value of the wrong kind.
    pub(crate) fn parse(args: TokenStream, kind: Kind) -> Result<Options, Error> {
        let attr = kind.attribute();
        let mut options = Options::default();
        let mut flavor_seen = false;
        let mut tokens = args.into_iter().peekable();
        while let Some(tree) = tokens.next() {
            let TokenTree::Ident(name) = tree else {
                return Err(Error::new(
                    tree.span(),
                    format!(
                        "expected an option of `#[{attr}]`, such as {}",
                        kind.options()
                    ),
                ));
            };
            let key = name.to_string();
            let eq = match tokens.next() {
                Some(TokenTree::Punct(p)) if p.as_char() == '=' => p,
                Some(other) => {
                    return Err(Error::new(
                        other.span(),
                        format!("expected `=` after `{key}`"),
                    ))
                }
                None => {
                    return Err(Error::new(
                        name.span(),
                        format!("expected `=` after `{key}`"),
                    ))
                }
            };
            let Some(value) = tokens.next() else {
                return Err(Error::new(
                    eq.span(),
                    format!("expected a value for `{key}`"),
                ));
            };
            let value = unwrap_none_group(value);
            match key.as_str() {
                "start_paused" if kind == Kind::Main => return Err(Error::new(
                    name.span(),
                    "`start_paused` is for tests: use `#[runtime::test(start_paused = true)]`, \
                         or `runtime::time::pause()` in the program",
                )),
                "start_paused" => {
                    if options.start_paused.is_some() {
                        return Err(twice(name.span(), &key));
                    }
                    options.start_paused = Some(parse_bool(&value, &key)?);
                }
                "flavor" => {
                    if flavor_seen {
                        return Err(twice(name.span(), &key));
                    }
                    flavor_seen = true;
                    let flavor = parse_string(&value, &key)?;
                    if flavor != "current_thread" {
                        return Err(Error::new(
                            value.span(),
                            format!(
                                "unknown flavor {flavor:?}: every runtime here runs on one thread, \
                                 so the only flavor is \"current_thread\" (run one runtime per \
                                 core to use more)"
                            ),
                        ));
                    }
                }
                "crate" => {
                    if options.krate.is_some() {
                        return Err(twice(name.span(), &key));
                    }
                    let path = parse_string(&value, &key)?;
                    let stream = path
                        .parse::<TokenStream>()
                        .ok()
                        .filter(|stream| !stream.is_empty())
                        .ok_or_else(|| {
                            Error::new(value.span(), format!("`crate` needs a path, not {path:?}"))
                        })?;
                    options.krate = Some(respan(stream, value.span()));
                }
                "worker_threads" => {
                    return Err(Error::new(
                        name.span(),
                        "a runtime here has one thread, so `worker_threads` does not apply \
                         (run one runtime per core to use more)",
                    ))
                }
                _ => {
                    return Err(Error::new(
                        name.span(),
                        format!(
                            "unknown option `{key}`: `#[{attr}]` takes {}",
                            kind.options()
                        ),
                    ))
                }
            }
            match tokens.next() {
                None => break,
                Some(TokenTree::Punct(p)) if p.as_char() == ',' => {}
                Some(other) => {
                    return Err(Error::new(other.span(), "expected `,` between the options"))
                }
            }
        }
        Ok(options)
    }
}

/// The error for an option given twice.
fn twice(span: Span, key: &str) -> Error {
    Error::new(span, format!("`{key}` is given more than once"))
}

/// A value passed through another macro arrives wrapped in an invisible
/// group; this takes it out.
fn unwrap_none_group(tree: TokenTree) -> TokenTree {
    if let TokenTree::Group(group) = &tree {
        if group.delimiter() == Delimiter::None {
            let mut inner = group.stream().into_iter();
            if let (Some(only), None) = (inner.next(), inner.next()) {
                return unwrap_none_group(only);
            }
        }
    }
    tree
}

/// `true` or `false`.
fn parse_bool(value: &TokenTree, key: &str) -> Result<bool, Error> {
    match value {
        TokenTree::Ident(ident) if ident.to_string() == "true" => Ok(true),
        TokenTree::Ident(ident) if ident.to_string() == "false" => Ok(false),
        other => Err(Error::new(
            other.span(),
            format!("`{key}` takes `true` or `false`, not `{other}`"),
        )),
    }
}

/// The contents of a plain string literal (no escapes are needed for the
/// values accepted, so none are interpreted).
fn parse_string(value: &TokenTree, key: &str) -> Result<String, Error> {
    if let TokenTree::Literal(literal) = value {
        let text = literal.to_string();
        if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            return Ok(inner.to_owned());
        }
    }
    Err(Error::new(
        value.span(),
        format!("`{key}` takes a string, such as `{key} = {}`", example(key)),
    ))
}

/// An example value for a string option's error message.
fn example(key: &str) -> Literal {
    Literal::string(if key == "crate" {
        "runtime"
    } else {
        "current_thread"
    })
}

/// `stream` with every token at `span`, so that an error about the path
/// (say, a crate that does not exist) points at the string the user wrote.
fn respan(stream: TokenStream, span: Span) -> TokenStream {
    stream
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                return TokenTree::Group(inner);
            }
            tree.set_span(span);
            tree
        })
        .collect()
}
