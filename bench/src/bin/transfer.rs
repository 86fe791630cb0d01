//! The S3-to-S3 transfer benchmark's helpers (see `bench/run.py`, "transfer").
//!
//!   transfer seed --endpoint URL --bucket B --files N --mib-per-file M
//!       puts N objects `files/<10001+i>` of M MiB of pseudo-random bytes into bucket B;
//!   transfer raw --endpoint URL --source B --dest D --files N
//!       the raw copy Ferry is measured against: each object read with GetObject and written to
//!       bucket D with a multipart upload of 8 MiB parts, one after the other — what a program
//!       moving the same bytes with aws-sdk-s3 and no zip does. Prints one JSON line.
//!
//! Credentials: `--access-key` and `--secret-key`.

use aws_sdk_s3::{
    config::{BehaviorVersion, Credentials, Region},
    primitives::ByteStream,
    types::{CompletedMultipartUpload, CompletedPart},
    Client,
};
use ferry_bench::{Clock, Flags};

const PART: usize = 8 * 1024 * 1024;

fn client(flags: &Flags) -> Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(flags.required("endpoint"))
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            flags.required("access-key"),
            flags.required("secret-key"),
            None,
            None,
            "bench",
        ))
        .build();
    Client::from_conf(config)
}

/// One part of a multipart upload.
async fn send_part(
    client: &Client,
    (bucket, key, upload_id): (&str, &str, &str),
    number: i32,
    bytes: Vec<u8>,
) -> CompletedPart {
    let sent = client
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .part_number(number)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .unwrap();
    CompletedPart::builder()
        .part_number(number)
        .set_e_tag(sent.e_tag().map(str::to_owned))
        .build()
}

/// Starts a multipart upload; returns its id.
async fn start_upload(client: &Client, bucket: &str, key: &str) -> String {
    let upload = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    upload.upload_id().unwrap().to_owned()
}

/// Completes a multipart upload with its parts.
async fn complete(
    client: &Client,
    (bucket, key, upload_id): (&str, &str, &str),
    parts: Vec<CompletedPart>,
) {
    client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

async fn seed(flags: &Flags) {
    let client = client(flags);
    let bucket = flags.required("bucket");
    let _ = client.create_bucket().bucket(bucket).send().await;
    let size = flags.number("mib-per-file", 256) * 1024 * 1024;
    for i in 0..flags.number("files", 4) {
        let mut state = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let parts: Vec<Vec<u8>> = (0..size.div_ceil(PART))
            .map(|p| {
                let len = PART.min(size - p * PART);
                (0..len / 8)
                    .flat_map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state.to_le_bytes()
                    })
                    .collect()
            })
            .collect();
        let key = format!("files/{}", 10_001 + i);
        let upload_id = start_upload(&client, bucket, &key).await;
        let target = (bucket, key.as_str(), upload_id.as_str());
        let mut done = Vec::new();
        for (index, part) in parts.into_iter().enumerate() {
            done.push(send_part(&client, target, index as i32 + 1, part).await);
        }
        complete(&client, target, done).await;
    }
}

async fn raw(flags: &Flags) {
    let client = client(flags);
    let (source, dest) = (flags.required("source"), flags.required("dest"));
    let _ = client.create_bucket().bucket(dest).send().await;
    let clock = Clock::start();
    let mut bytes = 0u64;
    for i in 0..flags.number("files", 4) {
        let key = format!("files/{}", 10_001 + i);
        let object = client
            .get_object()
            .bucket(source)
            .key(&key)
            .send()
            .await
            .unwrap();
        let mut body = object.body;
        let upload_id = start_upload(&client, dest, &key).await;
        let target = (dest, key.as_str(), upload_id.as_str());
        let mut part = Vec::with_capacity(PART);
        let mut done = Vec::new();
        loop {
            let chunk = body.next().await.transpose().unwrap();
            if let Some(chunk) = &chunk {
                part.extend_from_slice(chunk);
                bytes += chunk.len() as u64;
            }
            if part.len() >= PART || (chunk.is_none() && !part.is_empty()) {
                let number = done.len() as i32 + 1;
                done.push(send_part(&client, target, number, std::mem::take(&mut part)).await);
            }
            if chunk.is_none() {
                break;
            }
        }
        complete(&client, target, done).await;
    }
    let measured = clock.stop();
    println!(
        "{}",
        serde_json::json!({
            "impl": "raw-copy",
            "bytes": bytes,
            "seconds": measured.seconds,
            "cpuSeconds": measured.cpu_seconds,
        })
    );
}

#[tokio::main]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let flags = Flags::from_args();
    match mode.as_str() {
        "seed" => seed(&flags).await,
        "raw" => raw(&flags).await,
        other => panic!("unknown mode {other:?}: use seed or raw"),
    }
}
