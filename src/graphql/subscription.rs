//! The subscription root (API.md §8.6): served over WebSocket only
//! (`http::graphql::ws`), where the socket's `connection_init` proved who
//! is listening.

use std::sync::Arc;

use async_graphql::{Context, Subscription as SubscriptionRoot};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::error::AppError;
use crate::graphql::types::SecurityEvent;
use crate::services::live::LiveSocket;

#[derive(Default)]
pub struct Subscription;

#[SubscriptionRoot]
impl Subscription {
    /// The viewer's own security events, as they are recorded, on any
    /// instance.
    async fn security_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = SecurityEvent> + use<>> {
        let socket = ctx
            .data_opt::<Arc<LiveSocket>>()
            .ok_or(AppError::Unauthenticated)?;
        let events = socket.subscribe();
        Ok(futures_util::stream::unfold(
            events,
            |mut events| async move {
                loop {
                    match events.recv().await {
                        Ok(event) => return Some((SecurityEvent(event), events)),
                        // A subscriber too slow for the buffer misses the
                        // oldest; the list query has them all.
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }
}
