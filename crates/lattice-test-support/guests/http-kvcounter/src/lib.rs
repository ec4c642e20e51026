//! A guest that uses `wasi:keyvalue`, modelled on `examples/kvcounter`:
//! `GET /<path>?bucket=<name>` increments the counter of `<path>` in bucket
//! `<name>` (default: the default bucket) and answers `{"path":…,"count":n}`;
//! `GET /roundtrip` exercises get/set/exists/delete, list-keys and the batch
//! calls and answers `ok`. A key-value error becomes a 500 whose body names
//! the WIT error case, so tests see the variant rather than a trap.

mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "test:kvcounter/guest",
        generate_all,
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store};
use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct KvCounter;

impl wasip2::exports::http::incoming_handler::Guest for KvCounter {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let target = request.path_with_query().unwrap_or_else(|| "/".to_string());
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let bucket = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("bucket="))
            .unwrap_or("");
        let result = if path == "/roundtrip" {
            roundtrip(bucket).map(|()| "ok".to_string())
        } else {
            increment(bucket, path).map(|count| format!("{{\"path\":\"{path}\",\"count\":{count}}}"))
        };
        match result {
            Ok(body) => respond(out, 200, &body),
            Err(error) => respond(out, 500, &format!("error: {}", describe(&error))),
        }
    }
}

fn increment(bucket: &str, path: &str) -> Result<u64, store::Error> {
    let bucket = store::open(bucket)?;
    atomics::increment(&bucket, &format!("counter:{path}"), 1)
}

/// Every non-atomic call once, checking what each returns.
fn roundtrip(bucket: &str) -> Result<(), store::Error> {
    let fail = |what: &str| store::Error::Other(format!("roundtrip: {what}"));
    let bucket = store::open(bucket)?;
    bucket.set("rt:a", b"1")?;
    if bucket.get("rt:a")?.as_deref() != Some(&b"1"[..]) || !bucket.exists("rt:a")? {
        return Err(fail("set then get"));
    }
    bucket.delete("rt:a")?;
    if bucket.exists("rt:a")? || bucket.get("rt:a")?.is_some() {
        return Err(fail("delete"));
    }
    let pairs = [("rt:b".to_string(), b"2".to_vec()), ("rt:c".to_string(), b"3".to_vec())];
    batch::set_many(&bucket, &pairs)?;
    let got = batch::get_many(&bucket, &["rt:b".to_string(), "rt:none".to_string(), "rt:c".to_string()])?;
    if got != [Some(pairs[0].clone()), None, Some(pairs[1].clone())] {
        return Err(fail("get-many"));
    }
    let listed = bucket.list_keys(None)?;
    if !listed.keys.iter().any(|k| k == "rt:b") || listed.cursor.is_some() {
        return Err(fail("list-keys"));
    }
    batch::delete_many(&bucket, &["rt:b".to_string(), "rt:c".to_string()])?;
    if bucket.exists("rt:b")? || bucket.exists("rt:c")? {
        return Err(fail("delete-many"));
    }
    Ok(())
}

fn describe(error: &store::Error) -> String {
    match error {
        store::Error::NoSuchStore => "no-such-store".to_string(),
        store::Error::AccessDenied => "access-denied".to_string(),
        store::Error::Other(message) => format!("other: {message}"),
    }
}

fn respond(out: ResponseOutparam, status: u16, body: &str) {
    let response = OutgoingResponse::new(Fields::new());
    response.set_status_code(status).expect("status code is valid");
    let outgoing = response.body().expect("body is taken once");
    ResponseOutparam::set(out, Ok(response));
    let stream = outgoing.write().expect("stream is taken once");
    // A client that went away closes the stream: nothing is left to answer.
    if stream.blocking_write_and_flush(body.as_bytes()).is_err() {
        return;
    }
    drop(stream);
    let _ = OutgoingBody::finish(outgoing, None);
}

wasip2::http::proxy::export!(KvCounter);
