//! `echo-client` at a terminal: run under `script(1)`, which gives it a
//! pseudo-terminal as stdin and stdout while the test types into `script`'s
//! stdin and reads the screen from its stdout.

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tests::{client_bin, start_server, wait_with_timeout, Collector, Server, WATCHDOG};

/// The client at a terminal, its keyboard, and its screen.
struct Terminal {
    /// `script` running the client.
    child: Child,
    /// Keys typed go here.
    keyboard: ChildStdin,
    /// Everything the terminal showed.
    screen: Collector,
}

impl Terminal {
    /// Starts the client, aimed at `server`, at a fresh pseudo-terminal.
    fn start(server: &Server) -> Terminal {
        let command = format!("exec '{}' --addr {}", client_bin().display(), server.addr());
        let mut child = Command::new("script")
            // quiet, flush at once, return the client's exit status
            .args(["-qfec", &command, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run script(1) from util-linux");
        let keyboard = child.stdin.take().unwrap();
        let screen = Collector::new(child.stdout.take().unwrap());
        let terminal = Terminal {
            child,
            keyboard,
            screen,
        };
        terminal.wait_for_screen("> ");
        terminal
    }

    /// Types `keys`.
    fn type_keys(&mut self, keys: &str) {
        self.keyboard.write_all(keys.as_bytes()).unwrap();
        self.keyboard.flush().unwrap();
    }

    /// Waits (at most [`WATCHDOG`]) until the screen shows `text` `times`
    /// times.
    fn wait_for_screen_n(&self, text: &str, times: usize) -> String {
        let deadline = Instant::now() + WATCHDOG;
        loop {
            let screen = self.screen.text();
            if screen.matches(text).count() >= times {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {text:?} {times} times:\n{screen}"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn wait_for_screen(&self, text: &str) -> String {
        self.wait_for_screen_n(text, 1)
    }

    /// Waits for the client to exit and returns its exit code.
    fn exit_code(mut self) -> (Option<i32>, String) {
        let status = wait_with_timeout(&mut self.child, WATCHDOG);
        drop(self.keyboard);
        (status.code(), self.screen.text())
    }
}

#[test]
fn a_line_typed_is_echoed_and_ctrl_d_exits_zero() {
    let server = start_server(&[]);
    let mut terminal = Terminal::start(&server);
    terminal.type_keys("hello there\r");
    // Once as typed, once as echoed.
    terminal.wait_for_screen_n("hello there", 2);
    terminal.wait_for_screen_n("> ", 2);
    terminal.type_keys("\x04");
    let (code, screen) = terminal.exit_code();
    assert_eq!(code, Some(0), "{screen}");
}

#[test]
fn ctrl_c_exits_with_130() {
    let server = start_server(&[]);
    let mut terminal = Terminal::start(&server);
    terminal.type_keys("half a li");
    terminal.wait_for_screen("half a li");
    terminal.type_keys("\x03");
    let (code, screen) = terminal.exit_code();
    assert_eq!(code, Some(130), "{screen}");
}

#[test]
fn the_server_going_away_ends_an_idle_prompt_at_once() {
    let mut server = start_server(&[]);
    let mut terminal = Terminal::start(&server);
    terminal.type_keys("ping\r");
    terminal.wait_for_screen_n("ping", 2);
    // Now the client sits at an empty prompt, and nobody types.
    server.kill();
    let start = Instant::now();
    let (code, screen) = terminal.exit_code();
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains("echo-client: the server closed the connection"),
        "{screen}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "noticed only after {:?}",
        start.elapsed()
    );
}
