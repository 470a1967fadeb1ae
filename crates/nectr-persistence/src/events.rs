//! `EventRepository` on sea-orm.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use nectr_domain::{
    Event, EventFilter, EventId, EventRepository, EventRepositoryError, EventStatus, NewEvent,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};

use crate::SeaOrmStore;
use crate::entities::events::{self, Column};
use crate::store::db_error;

pub(crate) fn event_from_row(row: events::Model) -> Result<Event, EventRepositoryError> {
    let id = EventId::new(i64::from(row.id));
    let status = row
        .status
        .parse::<EventStatus>()
        .map_err(|error| anyhow::anyhow!("event {id} has {error}"))?;
    Ok(Event {
        id,
        event_type: row.event_type,
        source: row.source,
        payload: row.payload,
        status,
        created_at: row.created_at.unwrap_or_default(),
        processed_at: row.processed_at,
        delivery_id: row.delivery_id,
        github_event: row.github_event,
    })
}

/// The event a new delivery became once stored, from what the intake inserted.
pub(crate) fn stored_event(
    event: NewEvent,
    id: EventId,
    status: EventStatus,
    created_at: DateTime<Utc>,
    processed_at: Option<DateTime<Utc>>,
) -> Event {
    Event {
        id,
        event_type: event.event_type,
        source: event.source,
        payload: event.payload,
        status,
        created_at,
        processed_at,
        delivery_id: event.delivery_id,
        github_event: event.github_event,
    }
}

/// The active model of a new event.
pub(crate) fn new_event_row(event: NewEvent, created_at: DateTime<Utc>) -> events::ActiveModel {
    events::ActiveModel {
        event_type: Set(event.event_type),
        source: Set(event.source),
        payload: Set(event.payload),
        status: Set(event.status.as_str().to_owned()),
        created_at: Set(Some(created_at)),
        processed_at: Set(None),
        delivery_id: Set(event.delivery_id),
        github_event: Set(event.github_event),
        ..Default::default()
    }
}

/// The event stored first for a delivery id that just conflicted.
pub(crate) async fn stored_delivery<C: ConnectionTrait>(
    connection: &C,
    delivery_id: Option<String>,
) -> anyhow::Result<EventId> {
    events::Entity::find()
        .filter(Column::DeliveryId.eq(delivery_id))
        .one(connection)
        .await
        .map_err(db_error("reading a duplicate delivery"))?
        .map(|existing| EventId::new(i64::from(existing.id)))
        .ok_or_else(|| anyhow::anyhow!("a duplicate delivery vanished"))
}

/// Inserts an event on any connection or transaction; a known delivery id is a duplicate.
pub(crate) async fn insert_event<C: ConnectionTrait>(
    connection: &C,
    event: NewEvent,
) -> Result<Event, EventRepositoryError> {
    let delivery_id = event.delivery_id.clone();
    match new_event_row(event, Utc::now()).insert(connection).await {
        Ok(row) => event_from_row(row),
        Err(error) => match (error.sql_err(), delivery_id) {
            (Some(SqlErr::UniqueConstraintViolation(_)), Some(delivery_id)) => {
                Err(EventRepositoryError::DuplicateDelivery(
                    stored_delivery(connection, Some(delivery_id)).await?,
                ))
            }
            (_, _) => Err(db_error("storing an event")(error).into()),
        },
    }
}

#[async_trait]
impl EventRepository for SeaOrmStore {
    async fn create(&self, event: NewEvent) -> Result<Event, EventRepositoryError> {
        insert_event(&self.connection, event).await
    }

    async fn find_by_id(&self, id: EventId) -> Result<Option<Event>, EventRepositoryError> {
        let Ok(raw) = i32::try_from(id.get()) else { return Ok(None) };
        events::Entity::find_by_id(raw)
            .one(&self.connection)
            .await
            .map_err(db_error("reading an event"))?
            .map(event_from_row)
            .transpose()
    }

    async fn list(&self, filter: &EventFilter) -> Result<Vec<Event>, EventRepositoryError> {
        let mut query = events::Entity::find();
        if let Some(status) = filter.status {
            query = query.filter(Column::Status.eq(status.as_str()));
        }
        if let Some(event_type) = &filter.event_type {
            query = query.filter(Column::EventType.eq(event_type.as_str()));
        }
        query
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .limit(filter.limit)
            .offset(filter.offset)
            .all(&self.connection)
            .await
            .map_err(db_error("listing events"))?
            .into_iter()
            .map(event_from_row)
            .collect()
    }

    async fn set_status(
        &self,
        id: EventId,
        status: EventStatus,
        processed_at: Option<DateTime<Utc>>,
    ) -> Result<(), EventRepositoryError> {
        let Ok(raw) = i32::try_from(id.get()) else {
            return Err(EventRepositoryError::NotFound(id));
        };
        let result = events::Entity::update_many()
            .col_expr(Column::Status, Expr::value(status.as_str()))
            .col_expr(Column::ProcessedAt, Expr::value(processed_at))
            .filter(Column::Id.eq(raw))
            .exec(&self.connection)
            .await
            .map_err(db_error("updating an event's status"))?;
        if result.rows_affected == 0 {
            return Err(EventRepositoryError::NotFound(id));
        }
        Ok(())
    }
}
