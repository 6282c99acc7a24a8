//! The upgrade service: how a socket leaves actix-http's HTTP/1 dispatcher, whose read
//! and write buffers (8 KiB each, for the connection's life) were most of an idle
//! socket's memory.
//!
//! The server is built with actix-http's `HttpService::build().upgrade(…)` (see
//! `app.rs`). For a request with `Upgrade: websocket`, the dispatcher hands its stream,
//! its codec and both buffers to this service as a `Framed` instead of serving the
//! request itself. This service runs the very same application on the request (the
//! guard: host, origin, rate limit, token and roles; then the route), marked
//! [`Upgrading`], so every rule stays in one place. Only a `101` carrying the socket the
//! `/ws` handler accepted ([`Accepted`], in the response's extensions) takes the
//! connection over: the 101 is written through the `Framed`, then the stream and the
//! bytes already read past the request are taken out of it and both buffers dropped, and
//! `serve` runs the socket on the bare stream. Any other answer (the guard's 401, 403 or
//! 429, the handler's 503 or 400, a 404 elsewhere) is written exactly as the application
//! made it, with `Connection: close`, and the connection ends.
//!
//! The socket runs inside this service's future, which actix-server counts as the
//! connection: a graceful stop waits for sockets to send their close frames as it waits
//! for requests.

use std::future::poll_fn;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::time::Duration;

use actix_codec::{Framed, FramedParts};
use actix_http::body::{BodySize, BoxBody, MessageBody};
use actix_http::{ConnectionType, HttpMessage, Request, Response, StatusCode, h1};
use actix_service::boxed::BoxService;
use actix_service::{IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt};
use actix_web::App;
use actix_web::dev::{AppConfig, ServiceRequest, ServiceResponse};
use bytes::BytesMut;
use futures_util::SinkExt;
use futures_util::future::{Either, LocalBoxFuture};
use tokio::net::TcpStream;

use super::body::{Gate, Outbox, Writer};
use super::connection::{self, ConnectionContext};
use super::hub::Registration;
use super::inbound::Inbound;
use super::pair;

/// Marks a request that reached the application through the upgrade service: only
/// such a request can be taken over after its 101, so the `/ws` handler accepts a
/// socket only when it is there.
#[derive(Debug, Clone, Copy)]
pub struct Upgrading;

/// Makes an [`UpgradeService`] per worker, with its own instance of the application
/// that `app` builds (the same function that builds the HTTP side's).
pub struct UpgradeFactory<F> {
    app: F,
}

impl<F> UpgradeFactory<F> {
    /// Runs upgrade requests through the application `app` builds.
    pub fn new(app: F) -> Self {
        Self { app }
    }
}

impl<F, T, B> ServiceFactory<(Request, Framed<TcpStream, h1::Codec>)> for UpgradeFactory<F>
where
    F: Fn() -> App<T>,
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    type Response = ();
    type Error = actix_http::Error;
    type Config = ();
    type Service = UpgradeService;
    type InitError = ();
    type Future = LocalBoxFuture<'static, Result<Self::Service, ()>>;

    fn new_service(&self, _: ()) -> Self::Future {
        let app =
            actix_service::boxed::factory((self.app)().into_factory().map(
                |response: ServiceResponse<B>| Response::from(response).map_into_boxed_body(),
            ));
        // The host and address of the default config are only read for URLs the
        // application generates, and it generates none.
        let app = app.new_service(AppConfig::default());
        Box::pin(async move {
            let app = app.await.map_err(|error| {
                tracing::error!(?error, "cannot build the application for socket upgrades");
            })?;
            Ok(UpgradeService { app })
        })
    }
}

/// Serves one upgrade request, and the socket after it when the application accepted
/// one (see the module's doc).
pub struct UpgradeService {
    app: BoxService<Request, Response<BoxBody>, actix_web::Error>,
}

impl Service<(Request, Framed<TcpStream, h1::Codec>)> for UpgradeService {
    type Response = ();
    type Error = actix_http::Error;
    type Future = LocalBoxFuture<'static, Result<(), actix_http::Error>>;

    actix_service::always_ready!();

    fn call(&self, (request, framed): (Request, Framed<TcpStream, h1::Codec>)) -> Self::Future {
        request.extensions_mut().insert(Upgrading);
        // The handshake (the application's call and the answer) in a box of its own,
        // freed once it is done: the future that lives as long as the socket holds the
        // socket's state only, not the application's call nor the `Framed`.
        let handshake = Box::pin(handshake(self.app.call(request), framed));
        Box::pin(async move {
            if let Some((stream, already_read, accepted)) = handshake.await {
                serve(stream, already_read, accepted).await;
            }
            Ok(())
        })
    }
}

/// Runs the application's call and writes its answer; returns the stream, the bytes
/// read past the request and the socket when the answer is an accepted 101.
async fn handshake(
    call: impl Future<Output = Result<Response<BoxBody>, actix_web::Error>>,
    framed: Framed<TcpStream, h1::Codec>,
) -> Option<(TcpStream, BytesMut, Accepted)> {
    let response = match call.await {
        Ok(response) => response,
        Err(error) => error.error_response().into(),
    };
    match answer(response, framed).await {
        Ok(socket) => socket,
        Err(error) => {
            tracing::debug!(%error, "socket upgrade ended early");
            None
        }
    }
}

/// Writes the application's answer; hands the stream over when it is an accepted 101.
async fn answer(
    response: Response<BoxBody>,
    mut framed: Framed<TcpStream, h1::Codec>,
) -> std::io::Result<Option<(TcpStream, BytesMut, Accepted)>> {
    let (mut head, body) = response.into_parts();
    let accepted = (head.status() == StatusCode::SWITCHING_PROTOCOLS)
        .then(|| head.extensions_mut().remove::<Accepted>())
        .flatten();
    if let Some(accepted) = accepted {
        // On an error here `accepted` is dropped, which takes it out of the hub.
        framed.send((head, BodySize::None).into()).await?;
        let FramedParts { io, read_buf, .. } = framed.into_parts();
        // The dispatcher's two 8 KiB buffers are dropped here; only the bytes the
        // client sent past the request (its first frames, if it did not wait for the
        // 101) are kept.
        let already_read = if read_buf.is_empty() {
            BytesMut::new()
        } else {
            BytesMut::from(&read_buf[..])
        };
        return Ok(Some((io, already_read, accepted)));
    }
    // A refusal (or anything but an accepted socket): written as the application made
    // it; the connection then ends, as what follows an upgrade request is not HTTP.
    head.head_mut().set_connection_type(ConnectionType::Close);
    let size = body.size();
    framed.send((head, size).into()).await?;
    let mut body = pin!(body);
    while let Some(chunk) = poll_fn(|cx| body.as_mut().poll_next(cx)).await {
        let chunk = chunk.map_err(|error| std::io::Error::other(error.to_string()))?;
        framed.feed(h1::Message::Chunk(Some(chunk))).await?;
    }
    framed.send(h1::Message::Chunk(None)).await?;
    linger(framed.into_parts().io).await;
    Ok(None)
}

/// A socket the `/ws` handler accepted, not yet running: it travels to the
/// [`UpgradeService`] in the extensions of the 101 response, and runs once
/// that response is written and the stream taken over. Dropped unused (the 101 could
/// not be written), it leaves the hub.
pub struct Accepted {
    /// `None` once the socket runs.
    socket: Option<(ConnectionContext, Registration)>,
}

impl Accepted {
    /// A socket registered with the hub as `registration`, for a caller whose limits
    /// and reach are in `context`.
    pub fn new(context: ConnectionContext, registration: Registration) -> Self {
        Self {
            socket: Some((context, registration)),
        }
    }
}

impl Drop for Accepted {
    fn drop(&mut self) {
        if let Some((context, registration)) = self.socket.take() {
            context.hub.unregister(registration.id);
        }
    }
}

/// How long a closed socket waits for the client to close its side after the close
/// frame (then the connection is dropped).
const LINGER: Duration = Duration::from_secs(1);

/// Runs an accepted socket on `stream` (after the bytes in `already_read`) until it
/// closes: one future, polled by the connection's own task, holds the socket's task
/// ([`connection::task`]) and its [`Writer`], which share the [`Gate`] and the
/// [`Outbox`]. After the close frame the stream is shut down for writing and drained until the client
/// closes too, for at most [`LINGER`].
async fn serve(stream: TcpStream, already_read: BytesMut, mut accepted: Accepted) {
    let Some((
        context,
        Registration {
            id,
            queue,
            hello_seq,
        },
    )) = accepted.socket.take()
    else {
        return;
    };
    let max_frame_bytes = context.config.max_frame_bytes;
    let send_timeout = context.config.send_timeout;
    let gate = Gate::held();
    let outbox = Rc::new(Outbox::default());
    {
        let mut writer = pin!(Writer::new(&stream, outbox.clone(), queue, gate.clone()));
        let mut task = pin!(connection::task(
            context,
            id,
            hello_seq,
            gate,
            outbox,
            Inbound::new(&stream, already_read, max_frame_bytes),
        ));
        match pair::select(writer.as_mut(), task.as_mut()).await {
            // The connection failed: the task hears it and ends.
            Either::Left(()) => task.await,
            // The close frame is queued: it gets the send timeout to leave.
            Either::Right(()) => {
                let _ = tokio::time::timeout(send_timeout, writer).await;
            }
        }
    }
    linger(stream).await;
}

/// Shuts the stream down for writing, then reads and drops what the client still sends
/// until it closes, for at most [`LINGER`]: closing a stream with unread bytes resets
/// the connection, and a reset can discard the close frame before the client reads it.
async fn linger(mut stream: TcpStream) {
    use tokio::io::AsyncWrite;
    let _ = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_shutdown(cx)).await;
    let drain = async {
        loop {
            if stream.readable().await.is_err() {
                return;
            }
            match discard(&stream) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

fn discard(stream: &TcpStream) -> std::io::Result<usize> {
    let mut sink = [0u8; 1024];
    stream.try_read(&mut sink)
}
