//! The echo example echoes every byte, to several clients at once.

mod util;

#[allow(dead_code)]
#[path = "../examples/echo.rs"]
mod echo;

use std::io::{Read, Write};
use std::net::Shutdown;

#[test]
fn every_byte_comes_back_to_each_of_several_clients() {
    let addr = util::start(echo::serve);
    let clients: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let data = util::pattern(1 << 20, i);
                let mut stream = util::connect(addr);
                // Write from another thread while this one reads, so that
                // neither side's buffers need to hold it all.
                let mut writer = stream.try_clone().unwrap();
                let sent = data.clone();
                let sender = std::thread::spawn(move || {
                    for chunk in sent.chunks(7919) {
                        writer.write_all(chunk).unwrap();
                    }
                    writer.shutdown(Shutdown::Write).unwrap();
                });
                let mut echoed = Vec::new();
                stream.read_to_end(&mut echoed).unwrap();
                sender.join().unwrap();
                assert!(echoed == data, "client {i}: the echo differs");
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
}
