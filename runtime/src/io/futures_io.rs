//! `futures_io::{AsyncRead, AsyncWrite, AsyncBufRead}` for the runtime's I/O
//! types (the `futures-io` feature), so that the `futures` crate's
//! combinators (`BufReader`, `lines`, `copy`, `split`, ...) take them as
//! they are.
//!
//! The traits have the same shape as the runtime's, so each impl only
//! forwards. Every type is one line of the `futures_io!` call at the end:
//! a type that gains an I/O trait, or a new I/O type, adds its line there.

/// Implements the `futures_io` traits listed in brackets for a type, by
/// forwarding to the runtime's traits of the same name. Generic types name
/// their parameters first: `<R> [read, buf_read] BufReader<R>`; the impls
/// then hold wherever the runtime's trait does.
macro_rules! futures_io {
    ($($(<$($param:ident),*>)? [$($trait:ident),*] $ty:ty;)*) => {$(
        futures_io!(@line [$($($param),*)?] [$($trait),*] $ty);
    )*};
    (@line $params:tt [$($trait:ident),*] $ty:ty) => {$(
        futures_io!(@$trait $params $ty);
    )*};
    (@read [$($param:ident),*] $ty:ty) => {
        impl<$($param),*> futures_io::AsyncRead for $ty
        where
            Self: crate::io::AsyncRead,
        {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::io::AsyncRead::poll_read(self, cx, buf)
            }
        }
    };
    (@buf_read [$($param:ident),*] $ty:ty) => {
        impl<$($param),*> futures_io::AsyncBufRead for $ty
        where
            Self: crate::io::AsyncBufRead,
        {
            fn poll_fill_buf(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<&[u8]>> {
                crate::io::AsyncBufRead::poll_fill_buf(self, cx)
            }

            fn consume(self: std::pin::Pin<&mut Self>, amt: usize) {
                crate::io::AsyncBufRead::consume(self, amt)
            }
        }
    };
    (@write [$($param:ident),*] $ty:ty) => {
        impl<$($param),*> futures_io::AsyncWrite for $ty
        where
            Self: crate::io::AsyncWrite,
        {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::io::AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                crate::io::AsyncWrite::poll_flush(self, cx)
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                crate::io::AsyncWrite::poll_close(self, cx)
            }
        }
    };
}

use crate::io::{
    BufReader, BufStream, BufWriter, Chain, DuplexStream, Empty, ReadHalf, Repeat, Sink, Stdin,
    Take, WriteHalf,
};
use crate::net::{OwnedReadHalf, OwnedWriteHalf, TcpStream};

futures_io! {
    // net
    [read, write] TcpStream;
    [read, write] &TcpStream;
    [read] crate::net::ReadHalf<'_>;
    [write] crate::net::WriteHalf<'_>;
    [read] OwnedReadHalf;
    [write] OwnedWriteHalf;
    // io
    [read, buf_read] Stdin;
    [read, write] DuplexStream;
    <T> [read] ReadHalf<T>;
    <T> [write] WriteHalf<T>;
    <R> [read, buf_read, write] BufReader<R>;
    <W> [read, buf_read, write] BufWriter<W>;
    <S> [read, buf_read, write] BufStream<S>;
    <R> [read, buf_read] Take<R>;
    <A, B> [read, buf_read] Chain<A, B>;
    [read, buf_read, write] Empty;
    [write] Sink;
    [read] Repeat;
}
