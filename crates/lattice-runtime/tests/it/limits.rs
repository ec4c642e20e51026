//! Per-invocation limits: the execution deadline, the linear-memory cap,
//! the component size cap, and the pooling allocator's fallback.

use std::time::Duration;

use lattice_runtime::{Allocator, ComponentLimits, ErrorKind, Limits, Runtime};
use lattice_test_support::guests::{HELLO_HTTP, HTTP_LOOP, HTTP_MEMHOG};

use crate::{body_text, get, guest, runtime, shared_cache_dir, test_limits};

#[tokio::test]
async fn infinite_loop_is_stopped_by_the_deadline() {
    let runtime = Runtime::builder()
        .limits(Limits {
            max_execution_time: Duration::from_millis(200),
            ..test_limits()
        })
        .cache_dir(shared_cache_dir())
        .build()
        .unwrap();
    let spin = runtime.load("spin", &guest(HTTP_LOOP)).unwrap();
    let err = spin.handle_http(get("/")).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::DeadlineExceeded, "{err:?}");
}

#[tokio::test]
async fn guest_parked_in_a_host_call_is_stopped_by_the_deadline() {
    let runtime = Runtime::builder()
        .limits(Limits {
            max_execution_time: Duration::from_millis(200),
            ..test_limits()
        })
        .cache_dir(shared_cache_dir())
        .build()
        .unwrap();
    let sleeper = runtime.load("sleeper", &guest(HTTP_LOOP)).unwrap();
    let err = sleeper.handle_http(get("/sleep")).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::DeadlineExceeded, "{err:?}");
}

// One thread only: the healthy request can run while the loop spins only
// because the spinning guest yields to the executor on every epoch tick.
#[tokio::test]
async fn looping_guest_does_not_block_others() {
    let runtime = Runtime::builder()
        .limits(Limits {
            max_execution_time: Duration::from_secs(2),
            ..test_limits()
        })
        .cache_dir(shared_cache_dir())
        .build()
        .unwrap();
    let spin = runtime.load("spin", &guest(HTTP_LOOP)).unwrap();
    let hello = runtime.load("hello", &guest(HELLO_HTTP)).unwrap();
    let spinning = tokio::spawn(async move { spin.handle_http(get("/")).await });
    // Served while the loop spins: the spinning guest yields every tick.
    let response = hello.handle_http(get("/meanwhile")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /meanwhile\n");
    let err = spinning.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::DeadlineExceeded);
}

/// A runtime whose pool has two instance slots while it would admit 1000 invocations at once,
/// each with `max_execution_time`.
fn two_slot_runtime(max_execution_time: Duration) -> Runtime {
    Runtime::builder()
        .limits(Limits {
            max_components: 2,
            max_concurrent_invocations: 1000,
            max_execution_time,
            ..test_limits()
        })
        .cache_dir(shared_cache_dir())
        .build()
        .unwrap()
}

// More invocations than instance slots: the ones past the pool wait for a
// slot rather than failing to instantiate, however many invocations the
// runtime would otherwise admit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocations_past_the_pool_wait_for_a_slot() {
    let runtime = two_slot_runtime(Duration::from_millis(500));
    let sleeper = runtime.load("sleeper", &guest(HTTP_LOOP)).unwrap();
    // Each one parks in the host until the deadline, holding its slot.
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let sleeper = sleeper.clone();
            tokio::spawn(async move { sleeper.handle_http(get("/sleep")).await })
        })
        .collect();
    for call in calls {
        let err = call.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::DeadlineExceeded, "{err:?}");
    }
}

// An ended invocation's memory, tables and stack are released (or queued for the pool's batched
// decommit, which has spare slots for them) before its permits are: with many more callers than
// slots, each invocation the runtime admits finds slots free, and none fails to instantiate
// while another's slots are on their way back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_churn_every_admitted_invocation_finds_its_slots() {
    let runtime = two_slot_runtime(test_limits().max_execution_time);
    let hello = runtime.load("hello", &guest(HELLO_HTTP)).unwrap();
    let callers: Vec<_> = (0..16)
        .map(|caller| {
            let hello = hello.clone();
            tokio::spawn(async move {
                for call in 0..25 {
                    let path = format!("/{caller}/{call}");
                    let response = hello.handle_http(get(&path)).await?;
                    assert_eq!(body_text(response).await, format!("hello from {path}\n"));
                }
                Ok::<_, lattice_runtime::Error>(())
            })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn memory_hog_fails_alone() {
    let runtime = runtime();
    let hog = runtime.load("hog", &guest(HTTP_MEMHOG)).unwrap();
    let hello = runtime.load("hello", &guest(HELLO_HTTP)).unwrap();
    let err = hog.handle_http(get("/")).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::MemoryLimitExceeded, "{err:?}");
    let response = hello.handle_http(get("/still")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /still\n");
}

#[test]
fn component_size_is_capped() {
    let runtime = Runtime::builder()
        .limits(Limits {
            max_component_size: 1024,
            ..test_limits()
        })
        .build()
        .unwrap();
    let wasm = guest(HELLO_HTTP);
    let err = runtime.load("hello", &wasm).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::ComponentTooLarge {
            size: wasm.len(),
            max: 1024
        }
    );
}

#[tokio::test]
async fn impossible_pool_falls_back_and_still_serves() {
    let runtime = Runtime::builder()
        .limits(Limits {
            // Far more address space than a 64-bit process has.
            max_components: 1_000_000,
            ..test_limits()
        })
        .build()
        .unwrap();
    assert!(
        matches!(
            runtime.allocator(),
            Allocator::OnDemand {
                fallback_reason: Some(_)
            }
        ),
        "{:?}",
        runtime.allocator()
    );
    let hello = runtime.load("hello", &guest(HELLO_HTTP)).unwrap();
    let response = hello.handle_http(get("/fallback")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /fallback\n");
}

/// A component's own limits (wasmCloud's `component_limits`) narrow the
/// runtime's 30 s deadline and 64 MiB cap, for that component only and for
/// as long as they are set.
#[tokio::test]
async fn component_limits_narrow_the_runtimes_for_that_component() {
    let runtime = runtime();
    let spin = runtime.load("spin-limited", &guest(HTTP_LOOP)).unwrap();
    spin.set_limits(ComponentLimits {
        max_execution_time: Some(Duration::from_millis(100)),
        ..ComponentLimits::default()
    });
    let err = spin.handle_http(get("/")).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::DeadlineExceeded, "{err:?}");

    let hello = runtime.load("hello-limited", &guest(HELLO_HTTP)).unwrap();
    let other = runtime.load("hello-other", &guest(HELLO_HTTP)).unwrap();
    // One 64 KiB page: less than the guest's initial memory.
    hello.set_limits(ComponentLimits {
        max_linear_memory: Some(64 << 10),
        ..ComponentLimits::default()
    });
    let err = hello.handle_http(get("/")).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::MemoryLimitExceeded, "{err:?}");
    let response = other.handle_http(get("/other")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /other\n");

    hello.set_limits(ComponentLimits::default());
    let response = hello.handle_http(get("/again")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /again\n");
}

/// Past `max_concurrent_invocations` (which also sizes the pool's fiber
/// stacks) requests wait for a running one to finish instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocations_past_the_limit_wait_for_a_slot() {
    let runtime = Runtime::builder()
        .limits(Limits {
            max_concurrent_invocations: 1,
            ..test_limits()
        })
        .cache_dir(shared_cache_dir())
        .build()
        .unwrap();
    assert_eq!(runtime.allocator(), &Allocator::Pooling);
    let hello = runtime.load("hello", &guest(HELLO_HTTP)).unwrap();
    let requests: Vec<_> = (0..8)
        .map(|i| {
            let hello = hello.clone();
            tokio::spawn(async move {
                let response = hello.handle_http(get(&format!("/{i}"))).await?;
                Ok::<_, lattice_runtime::Error>(body_text(response).await)
            })
        })
        .collect();
    for (i, request) in requests.into_iter().enumerate() {
        assert_eq!(request.await.unwrap().unwrap(), format!("hello from /{i}\n"));
    }
}
