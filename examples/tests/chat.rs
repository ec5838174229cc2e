//! The chat example: names, broadcast to the others, join and leave.

mod util;

#[allow(dead_code)]
#[path = "../examples/chat.rs"]
mod chat;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};

/// One chat client, reading line by line.
struct Client {
    /// The connection, for writing.
    stream: TcpStream,
    /// The connection, for reading lines.
    lines: BufReader<TcpStream>,
}

impl Client {
    /// Connects and gives `name`; returns the client and its welcome.
    fn join(addr: SocketAddr, name: &str) -> (Client, String) {
        let stream = util::connect(addr);
        let lines = BufReader::new(stream.try_clone().unwrap());
        let mut client = Client { stream, lines };
        assert_eq!(client.line(), "Your name?");
        client.say(name);
        let welcome = client.line();
        (client, welcome)
    }

    /// Sends one line.
    fn say(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    /// The next line received, without its newline.
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.lines
            .read_line(&mut line)
            .expect("a line within the deadline");
        assert!(line.ends_with('\n'), "the connection ended: {line:?}");
        line.pop();
        line
    }
}

#[test]
fn lines_go_to_the_others_with_joins_and_leaves() {
    let addr = util::start(chat::serve);
    let (mut alice, welcome) = Client::join(addr, "alice");
    assert_eq!(welcome, "Welcome, alice. 0 others here.");
    let (mut bob, welcome) = Client::join(addr, "bob");
    assert_eq!(welcome, "Welcome, bob. 1 others here.");
    assert_eq!(alice.line(), "* bob joined");

    alice.say("hi bob");
    assert_eq!(bob.line(), "alice: hi bob");
    bob.say("hi alice");
    assert_eq!(alice.line(), "bob: hi alice");

    let (mut carol, _) = Client::join(addr, "carol");
    assert_eq!(alice.line(), "* carol joined");
    assert_eq!(bob.line(), "* carol joined");

    drop(bob);
    assert_eq!(alice.line(), "* bob left");
    assert_eq!(carol.line(), "* bob left");

    // A line far too long is dropped and its sender told; the next one
    // goes through. (Alice's next line would be the long one, if it had
    // been sent on.)
    carol.say(&"x".repeat(100_000));
    assert!(carol.line().starts_with("* line dropped"));
    carol.say("still here");
    assert_eq!(alice.line(), "carol: still here");
}
