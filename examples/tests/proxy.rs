//! The proxy example passes bytes both ways and passes half-closes on.

mod util;

#[allow(dead_code)]
#[path = "../examples/proxy.rs"]
mod proxy;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};

#[test]
fn a_request_ended_by_a_half_close_gets_its_whole_response() {
    // The server answers only once it has read the request to its end:
    // the client's half-close must reach it through the proxy.
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    let request = util::pattern(3 << 20, 1);
    let response = util::pattern(5 << 20, 2);
    let server = std::thread::spawn({
        let (request, response) = (request.clone(), response.clone());
        move || {
            let (mut stream, _) = upstream.accept().unwrap();
            stream.set_read_timeout(Some(util::PATIENCE)).unwrap();
            let mut got = Vec::new();
            stream.read_to_end(&mut got).unwrap();
            assert!(got == request, "the server got other bytes");
            stream.write_all(&response).unwrap();
            // And the server's half-close reaches the client.
            stream.shutdown(Shutdown::Write).unwrap();
        }
    });
    let proxy_addr = util::start(move |listener| proxy::serve(listener, upstream_addr.to_string()));

    let mut client = util::connect(proxy_addr);
    client.write_all(&request).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    client.read_to_end(&mut got).unwrap();
    assert!(got == response, "the client got other bytes");
    server.join().unwrap();
}

#[test]
fn a_server_that_is_not_there_closes_the_client_at_once() {
    // A port nobody listens on.
    let nobody = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let proxy_addr = util::start(move |listener| proxy::serve(listener, nobody.to_string()));
    let mut client = util::connect(proxy_addr);
    let mut buf = [0; 1];
    assert_eq!(
        client.read(&mut buf).unwrap(),
        0,
        "the client was not closed"
    );
}
