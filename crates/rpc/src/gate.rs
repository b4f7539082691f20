//! An HTTP layer in front of JSON-RPC that answers some requests itself: the JWT check of the
//! Engine API (`auth.rs`) refuses, the beacon endpoints (`beacon.rs`) serve.

use jsonrpsee::server::{HttpRequest, HttpResponse};
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

/// Decides, per request, whether to answer it here.
pub(crate) trait Gate: Clone + Send + Sync + 'static {
    /// The answer to `request`, or None to let it go on to JSON-RPC.
    fn answer(&self, request: &HttpRequest) -> Option<ResponseFuture>;
}

/// The tower layer of a [`Gate`].
#[derive(Clone)]
pub(crate) struct GateLayer<G>(pub(crate) G);

impl<S, G: Gate> tower::Layer<S> for GateLayer<G> {
    type Service = GateService<S, G>;

    fn layer(&self, inner: S) -> Self::Service {
        GateService { inner, gate: self.0.clone() }
    }
}

#[derive(Clone)]
pub(crate) struct GateService<S, G> {
    inner: S,
    gate: G,
}

impl<S, G> tower::Service<HttpRequest> for GateService<S, G>
where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
    G: Gate,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        match self.gate.answer(&request) {
            Some(answer) => answer,
            None => Box::pin(self.inner.call(request)),
        }
    }
}
