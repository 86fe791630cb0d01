//! The OpenAPI schemas of the types whose rules derive macros cannot express: the file id's range
//! and the initiate body's "exactly one of `file_id` and `file_ids`".

use super::{FileId, InitiateRequest, FILE_ID_MAX, FILE_ID_MIN, MAX_FILE_IDS_PER_JOB};
use utoipa::PartialSchema;

/// In the OpenAPI document a file id is an integer with the service's range.
impl PartialSchema for FileId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(FILE_ID_MIN as f64))
            .maximum(Some(FILE_ID_MAX as f64))
            .examples([serde_json::json!(12345)])
            .into()
    }
}

impl utoipa::ToSchema for FileId {}

/// In the OpenAPI document: an object with `file_id` or `file_ids` — exactly one of them.
impl PartialSchema for InitiateRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AllOfBuilder, ArrayBuilder, ObjectBuilder, OneOfBuilder};
        let fields = ObjectBuilder::new()
            .property("file_id", FileId::schema())
            .property(
                "file_ids",
                ArrayBuilder::new()
                    .items(FileId::schema())
                    .min_items(Some(1))
                    .max_items(Some(MAX_FILE_IDS_PER_JOB))
                    .unique_items(true),
            );
        let exactly_one = OneOfBuilder::new()
            .item(ObjectBuilder::new().required("file_id"))
            .item(ObjectBuilder::new().required("file_ids"));
        AllOfBuilder::new()
            .item(fields)
            .item(exactly_one)
            .description(Some(
                "One file (`file_id`) or one zip of several (`file_ids`, 1–1000 distinct ids).",
            ))
            .examples([serde_json::json!({"file_id": 12345})])
            .into()
    }
}

impl utoipa::ToSchema for InitiateRequest {}
