//! The authenticated RPC server (`--authrpc.*`): the Engine API and `eth_*` on one port, every
//! HTTP request and WebSocket upgrade checked for a JWT signed with the shared secret (HS256,
//! `iat` within 60 seconds of now, as the Engine API's authentication spec asks). A request
//! without a valid token gets HTTP 401 and never reaches a method.

use crate::{
    RpcContext, RpcServer,
    engine::{EngineApiServer, EngineBackend, EngineHandler},
    eth::EthHandler,
    gate::{BoxError, Gate, GateLayer, ResponseFuture},
};
use alloy_rpc_types_engine::JwtSecret;
use jsonrpsee::{
    RpcModule,
    server::{HttpBody, HttpRequest, Server, ServerConfig},
};
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    sync::Arc,
};

/// Where the authenticated server listens and the secret it checks.
#[derive(Debug, Clone)]
pub struct AuthRpcConfig {
    /// Listen address (`--authrpc.addr`, `--authrpc.port`).
    pub addr: SocketAddr,
    /// The shared secret.
    pub secret: JwtSecret,
}

impl AuthRpcConfig {
    /// Default port, as every execution client's.
    pub const DEFAULT_PORT: u16 = 8551;
    /// Default address.
    pub const DEFAULT_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    /// Largest request on the engine port (geth's): a payload carries a whole block.
    pub const MAX_REQUEST_BODY: u32 = 128 * 1024 * 1024;
    /// The secret's file name in the datadir when none is given, as reth names it.
    pub const SECRET_FILE: &'static str = "jwt.hex";
}

/// The secret at `path` (hex, 32 bytes, `0x` optional); with no path, the one in
/// `<datadir>/jwt.hex`, written there (random) the first time, as reth does.
///
/// # Errors
///
/// The file cannot be read or written, or does not hold a 32-byte hex secret.
pub fn load_or_create_secret(path: Option<&Path>, datadir: &Path) -> Result<JwtSecret, String> {
    match path {
        Some(path) => {
            JwtSecret::from_file(path).map_err(|err| format!("{}: {err}", path.display()))
        }
        None => {
            let path: PathBuf = datadir.join(AuthRpcConfig::SECRET_FILE);
            if path.exists() {
                JwtSecret::from_file(&path).map_err(|err| format!("{}: {err}", path.display()))
            } else {
                let secret = JwtSecret::try_create_random(&path)
                    .map_err(|err| format!("{}: {err}", path.display()))?;
                tracing::info!(target: "rpc::auth", path = %path.display(), "wrote a new JWT secret");
                Ok(secret)
            }
        }
    }
}

/// Starts the authenticated server: `engine_*` from `backend`, `eth_*` from `ctx`.
///
/// # Errors
///
/// The address cannot be bound, or a method name clashes.
pub async fn start_auth_server(
    ctx: Arc<RpcContext>,
    backend: Arc<dyn EngineBackend>,
    config: AuthRpcConfig,
) -> std::io::Result<RpcServer> {
    // A payload is a whole block: the engine port takes requests as large as geth's does.
    let server_config = ServerConfig::builder()
        .max_request_body_size(
            ctx.config.max_request_body_size.max(AuthRpcConfig::MAX_REQUEST_BODY),
        )
        .max_response_body_size(ctx.config.max_response_body_size)
        .build();
    let layer = GateLayer(JwtGate { secret: config.secret });
    let server = Server::builder()
        .set_config(server_config)
        .set_http_middleware(tower::ServiceBuilder::new().layer(layer))
        .build(config.addr)
        .await?;
    let local_addr = server.local_addr()?;
    let mut module = RpcModule::new(());
    let eth = EthHandler { ctx: ctx.clone() };
    let engine = EngineHandler { ctx, backend };
    module.merge(engine.into_rpc()).map_err(std::io::Error::other)?;
    module.merge(crate::api::EthApiServer::into_rpc(eth)).map_err(std::io::Error::other)?;
    let handle = server.start(module);
    Ok(RpcServer { handle, local_addr })
}

/// Refuses every request without a valid `Authorization: Bearer <jwt>` header.
#[derive(Clone)]
struct JwtGate {
    secret: JwtSecret,
}

impl Gate for JwtGate {
    fn answer(&self, request: &HttpRequest) -> Option<ResponseFuture> {
        let reason = refusal(&self.secret, request.headers())?;
        tracing::debug!(target: "rpc::auth", %reason, "refused an unauthenticated request");
        let response = http::Response::builder()
            .status(http::StatusCode::UNAUTHORIZED)
            .body(HttpBody::from(reason))
            .map_err(|err| -> BoxError { Box::new(err) });
        Some(Box::pin(std::future::ready(response)))
    }
}

/// Why a request is refused, if it is.
fn refusal(secret: &JwtSecret, headers: &http::HeaderMap) -> Option<String> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Some("missing Authorization header".into());
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or("the Authorization header is not `Bearer <jwt>`");
    match token {
        Err(reason) => Some(reason.into()),
        Ok(token) => secret.validate(token).err().map(|err| err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_rpc_types_engine::Claims;

    fn headers(token: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        headers
    }

    fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
    }

    /// A fresh token signed with the secret passes; another secret's, a stale or future
    /// `iat`, a missing header and a non-Bearer header are refused.
    #[test]
    fn only_fresh_tokens_signed_with_the_secret_pass() {
        let secret = JwtSecret::random();
        let token =
            |secret: &JwtSecret, iat: u64| secret.encode(&Claims { iat, exp: None }).unwrap();
        assert_eq!(refusal(&secret, &headers(&token(&secret, now()))), None);
        assert_eq!(refusal(&secret, &headers(&token(&secret, now() - 50))), None);
        assert!(refusal(&secret, &headers(&token(&JwtSecret::random(), now()))).is_some());
        assert!(refusal(&secret, &headers(&token(&secret, now() - 120))).is_some(), "stale");
        assert!(refusal(&secret, &headers(&token(&secret, now() + 120))).is_some(), "future");
        assert!(refusal(&secret, &http::HeaderMap::new()).is_some());
        let mut basic = http::HeaderMap::new();
        basic.insert(http::header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert!(refusal(&secret, &basic).is_some());
    }

    /// With no path the secret is created in the datadir once, then read back.
    #[test]
    fn the_secret_is_created_once_in_the_datadir() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let first = load_or_create_secret(None, &dir).unwrap();
        let again = load_or_create_secret(None, &dir).unwrap();
        assert_eq!(first.as_bytes(), again.as_bytes());
        let given = dir.join("given.hex");
        std::fs::write(&given, format!("0x{}", "ab".repeat(32))).unwrap();
        assert_eq!(load_or_create_secret(Some(&given), &dir).unwrap().as_bytes(), &[0xab; 32]);
        std::fs::write(&given, "not hex").unwrap();
        assert!(load_or_create_secret(Some(&given), &dir).is_err());
    }
}
