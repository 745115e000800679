//! The baseline: a bare actix-web server that answers every client-API call
//! with the same small JSON verdict, doing no work.

use std::net::SocketAddr;

use actix_web::{web, App, HttpResponse, HttpServer};

/// The fixed answer to every request.
pub const BODY: &str = r#"{"valid":true,"code":"VALID","detail":"License is valid"}"#;

async fn verdict(_path: web::Path<(String, String)>, _body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(BODY)
}

/// Serves the bare endpoint on `listen` (loopback only) with `workers` threads
/// until the process is stopped.
pub fn serve(listen: SocketAddr, workers: usize) -> Result<(), String> {
    if !listen.ip().is_loopback() {
        return Err(format!(
            "{listen}: the bare endpoint listens on loopback only"
        ));
    }
    actix_rt::System::new()
        .block_on(async move {
            let server = HttpServer::new(|| {
                App::new().route("/v1/{env}/licenses/{op}", web::post().to(verdict))
            })
            .workers(workers.max(1))
            .bind(listen)?;
            println!("bare endpoint listening on http://{listen} ({workers} workers)");
            server.run().await
        })
        .map_err(|e| format!("bare endpoint: {e}"))
}
