//! Closes connections that sit idle: no byte read or written for a while, and no request in
//! flight. hyper's header read timeout starts only once a request's first bytes arrive, and
//! neither the HTTP/2 sniffing of hyper-util's `auto` builder nor an idle HTTP/2 connection
//! has a deadline; without this, sockets that never send a byte stay open for ever, one file
//! descriptor each.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Wraps `io` so that reading fails with [`io::ErrorKind::TimedOut`] (which ends the
/// connection) once nothing has moved on it for `limit` while no request is in flight.
/// Requests are counted by the service the returned [`InFlight`] wraps.
pub fn close_when_idle<T>(io: T, limit: Duration) -> (IdleCutoff<T>, InFlight) {
    let in_flight = InFlight(Arc::new(AtomicUsize::new(0)));
    let cutoff = IdleCutoff {
        io,
        limit,
        last_activity: Instant::now(),
        check: Box::pin(tokio::time::sleep(limit)),
        in_flight: Arc::clone(&in_flight.0),
    };
    (cutoff, in_flight)
}

pub struct IdleCutoff<T> {
    io: T,
    limit: Duration,
    last_activity: Instant,
    /// Fires at the earliest moment the connection could be idle for `limit`.
    check: Pin<Box<Sleep>>,
    in_flight: Arc<AtomicUsize>,
}

impl<T> IdleCutoff<T> {
    /// Called when a read is pending: `Ready` with the error that closes the connection
    /// once it has been idle for `limit`, otherwise `Pending` with the check re-armed.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            ready!(self.check.as_mut().poll(cx));
            let now = Instant::now();
            // A slow handler or a slow upload is not idleness: look again one limit later.
            let next = if self.in_flight.load(Ordering::Acquire) > 0 {
                now + self.limit
            } else {
                self.last_activity + self.limit
            };
            if next <= now {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection idle for longer than server.header_read_timeout",
                ));
            }
            self.check.as_mut().reset(next);
        }
    }

    fn touch_if_written(&mut self, written: &io::Result<usize>) {
        if matches!(written, Ok(n) if *n > 0) {
            self.last_activity = Instant::now();
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleCutoff<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.last_activity = Instant::now();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => this.poll_idle(cx).map(Err),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleCutoff<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.io).poll_write(cx, buf));
        this.touch_if_written(&written);
        Poll::Ready(written)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.io).poll_write_vectored(cx, bufs));
        this.touch_if_written(&written);
        Poll::Ready(written)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// The count of requests in flight on one connection.
#[derive(Clone)]
pub struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// `service`, counting each request from its call until its response future ends
    /// (or is dropped, when the client goes away).
    pub fn counting<S>(self, service: S) -> Counted<S> {
        Counted {
            service,
            in_flight: self,
        }
    }
}

/// Decrements the count when the request it stands for ends, however it ends.
struct OpenRequest(Arc<AtomicUsize>);

impl OpenRequest {
    fn start(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(count))
    }
}

impl Drop for OpenRequest {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A hyper service whose requests are counted in an [`InFlight`].
pub struct Counted<S> {
    service: S,
    in_flight: InFlight,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, R> hyper::service::Service<R> for Counted<S>
where
    S: hyper::service::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn call(&self, request: R) -> Self::Future {
        let counted = OpenRequest::start(&self.in_flight.0);
        let response = self.service.call(request);
        Box::pin(async move {
            let response = response.await;
            drop(counted);
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use hyper::service::Service;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    const LIMIT: Duration = Duration::from_millis(100);

    /// A service that answers at once: its future is in flight until polled.
    struct Immediate;

    impl Service<()> for Immediate {
        type Response = ();
        type Error = Infallible;
        type Future = std::future::Ready<Result<(), Infallible>>;

        fn call(&self, (): ()) -> Self::Future {
            std::future::ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_silent_connection_is_cut_after_the_limit() {
        let (server, _client) = tokio::io::duplex(64);
        let (mut server, _in_flight) = close_when_idle(server, LIMIT);
        let started = Instant::now();
        let error = server.read(&mut [0u8; 8]).await.expect_err("cut");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= LIMIT);
    }

    #[tokio::test]
    async fn a_request_in_flight_keeps_it_open_and_idleness_counts_from_the_last_byte() {
        let (server, mut client) = tokio::io::duplex(64);
        let (mut server, in_flight) = close_when_idle(server, LIMIT);
        let service = in_flight.counting(Immediate);
        // In flight from the call until its future ends.
        let request = service.call(());
        let client = tokio::spawn(async move {
            tokio::time::sleep(LIMIT * 3).await;
            client.write_all(b"x").await.expect("write");
            client
        });
        let mut buffer = [0u8; 8];
        assert_eq!(server.read(&mut buffer).await.expect("not cut"), 1);
        request.await.expect("served");
        let _client = client.await.expect("client task");
        let error = server.read(&mut buffer).await.expect_err("cut");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }
}
