//! The command line shared by the comparison servers:
//! `NAME [--addr HOST:PORT] [--quiet] [--nodelay]`.

/// How to run a comparison server.
#[derive(Debug, PartialEq, Eq)]
pub struct ServerArgs {
    /// Address to listen on (default 127.0.0.1:6666).
    pub addr: String,
    /// No per-connection lines.
    pub quiet: bool,
    /// Set `TCP_NODELAY` on accepted connections, as our server does (the
    /// servers' own examples do not).
    pub nodelay: bool,
}

/// The usage line of server `name`.
pub fn usage(name: &str) -> String {
    format!("usage: {name} [--addr HOST:PORT] [--quiet] [--nodelay]")
}

/// Parses `--addr HOST:PORT` (or `--addr=HOST:PORT`), `--quiet` (`-q`),
/// `--nodelay` and `--help` (`-h`, which gives `Ok(None)`).
pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<ServerArgs>, String> {
    let mut parsed = ServerArgs {
        addr: "127.0.0.1:6666".to_string(),
        quiet: false,
        nodelay: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => parsed.addr = args.next().ok_or("--addr needs HOST:PORT")?,
            "--quiet" | "-q" => parsed.quiet = true,
            "--nodelay" => parsed.nodelay = true,
            "--help" | "-h" => return Ok(None),
            _ => match arg.strip_prefix("--addr=") {
                Some(addr) => parsed.addr = addr.to_string(),
                None => return Err(format!("unexpected argument {arg:?}")),
            },
        }
    }
    Ok(Some(parsed))
}

/// Parses the process's arguments; on `--help` prints the usage and exits
/// 0, on a bad argument prints why and exits 2.
pub fn from_env(name: &str) -> ServerArgs {
    match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{}", usage(name));
            std::process::exit(0);
        }
        Err(message) => {
            eprintln!("{name}: {message}\n{}", usage(name));
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Option<ServerArgs>, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_flags_and_errors() {
        let defaults = parse_strs(&[]).unwrap().unwrap();
        assert_eq!(defaults.addr, "127.0.0.1:6666");
        assert!(!defaults.quiet);
        assert!(!defaults.nodelay);
        assert!(parse_strs(&["--nodelay"]).unwrap().unwrap().nodelay);
        let set = parse_strs(&["--addr=127.0.0.1:0", "-q"]).unwrap().unwrap();
        assert_eq!(set.addr, "127.0.0.1:0");
        assert!(set.quiet);
        assert_eq!(parse_strs(&["--help"]), Ok(None));
        assert!(parse_strs(&["--addr"]).is_err());
        assert!(parse_strs(&["--bogus"]).is_err());
    }
}
