use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::{
    Budget, KvCacheType, LimitSource, METAL_MINIMUM_MEMORY, MIB, MetalLimit, ServerSettings,
    WarmModel, budget, estimated_limit, footprint, measured_limit, metal_limit,
};
use crate::ollama::log::last_start;
use crate::ollama::show::{KvGeometry, kv_geometry, llama32_info, qwen_coder_info};

const GIB: u64 = 1 << 30;

/// llama3.2 3B.
fn llama32() -> KvGeometry {
    kv_geometry(&llama32_info()).unwrap()
}

/// qwen2.5-coder:32b: 64 layers, 40 heads, 8 KV heads, head size 5120 / 40.
fn qwen_coder() -> KvGeometry {
    kv_geometry(&qwen_coder_info()).unwrap()
}

fn warm(name: &str, weights: u64, context: u64, g: KvGeometry) -> WarmModel {
    WarmModel {
        name: name.to_owned(),
        weights,
        context,
        completion: true,
        geometry: Some(g),
    }
}

fn limit(bytes: u64) -> MetalLimit {
    MetalLimit {
        bytes,
        source: LimitSource::Measured {
            text: String::new(),
        },
    }
}

#[test]
fn the_limit_is_measured_from_the_log_else_estimated() {
    let log = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ollama/logs/serve-v0.17.0-m4-excerpt.log"
    ));
    let start = last_start(log).unwrap();
    let measured = metal_limit(measured_limit(&start), Some(32 * GIB), Some(0)).unwrap();
    assert_eq!(measured, measured_limit(&start).unwrap());
    assert_eq!(measured.bytes, 25 * GIB);
    assert!(!measured.is_estimate());
    // No log: the wired limit when non-zero, else 2/3 of RAM up to 36 GiB, 3/4 above.
    assert_eq!(
        metal_limit(None, Some(32 * GIB), Some(0)).unwrap().bytes,
        32 * GIB / 3 * 2
    );
    assert_eq!(
        metal_limit(None, Some(16 * GIB), None).unwrap().bytes,
        16 * GIB / 3 * 2
    );
    assert_eq!(estimated_limit(64 * GIB, Some(0)).bytes, 48 * GIB);
    assert_eq!(estimated_limit(64 * GIB, Some(57_344)).bytes, 56 * GIB);
    assert!(estimated_limit(64 * GIB, None).is_estimate());
    assert_eq!(metal_limit(None, None, Some(1024)), None);
    // A start without an `inference compute` line falls back to the estimate.
    let empty =
        last_start("time=t level=INFO source=r.go:1 msg=\"server config\" env=x\n").unwrap();
    assert!(
        metal_limit(measured_limit(&empty), Some(16 * GIB), None)
            .unwrap()
            .is_estimate()
    );
}

#[test]
fn estimates_match_public_logs_of_8_and_16_gib_macs() {
    // `5.3 GiB` and `10.7 GiB` as `format.HumanBytes2` prints them.
    #[expect(
        clippy::cast_precision_loss,
        reason = "one decimal is shown, as Go prints it"
    )]
    let shown = |b: u64| format!("{:.1}", b as f64 / GIB as f64);
    assert_eq!(shown(estimated_limit(8 * GIB, Some(0)).bytes), "5.3");
    assert_eq!(shown(estimated_limit(16 * GIB, Some(0)).bytes), "10.7");
}

#[test]
fn kv_cache_of_llama32_at_64k() {
    // 28 layers × 65536 × (128 + 128) × 8 KV heads × 2 bytes = 7 GiB.
    let f = footprint(
        &warm("llama3.2", 2_019_393_189, 65_536, llama32()),
        &ServerSettings::default(),
    );
    assert_eq!(f.kv_cache, Some(7 * GIB));
    assert_eq!(f.kv_cache_type, KvCacheType::F16);
    assert!(!f.flash_attention);
    // Graph without flash attention: 4 × 512 × 65536 × (1 + 24).
    assert_eq!(f.margin, METAL_MINIMUM_MEMORY + 4 * 512 * 65_536 * 25);
    assert_eq!(f.total, 2_019_393_189 + 7 * GIB + f.margin);
}

#[test]
fn quantized_cache_only_with_flash_attention() {
    let m = warm("llama3.2", GIB, 65_536, llama32());
    let q8 = ServerSettings {
        kv_cache_type: KvCacheType::Q8_0,
        ..ServerSettings::default()
    };
    // llama: flash attention is off by default, so q8_0 is not used.
    assert_eq!(footprint(&m, &q8).kv_cache_type, KvCacheType::F16);
    let q8_fa = ServerSettings {
        flash_attention: Some(true),
        ..q8
    };
    let f = footprint(&m, &q8_fa);
    assert_eq!(
        (f.kv_cache_type, f.kv_cache),
        (KvCacheType::Q8_0, Some(7 * GIB / 2))
    );
    // Flash-attention graph: (4 × 1 + 65536 / 1024 + 110) MiB.
    assert_eq!(f.margin, METAL_MINIMUM_MEMORY + (4 + 64 + 110) * MIB);
    // An architecture with flash attention by default (qwen3) takes q8_0 without the variable.
    let mut qwen3 = llama32();
    qwen3.flash_attention_default = true;
    assert_eq!(
        footprint(&warm("qwen3", GIB, 8192, qwen3), &q8).kv_cache_type,
        KvCacheType::Q8_0
    );
    // ... unless the variable turns it off.
    let off = ServerSettings {
        flash_attention: Some(false),
        ..q8
    };
    assert_eq!(
        footprint(&warm("qwen3", GIB, 8192, qwen3), &off).kv_cache_type,
        KvCacheType::F16
    );
}

#[test]
fn context_is_capped_at_training_and_embedding_models_run_one_sequence() {
    let s = ServerSettings {
        num_parallel: 4,
        ..ServerSettings::default()
    };
    let f = footprint(&warm("qwen-coder", GIB, 131_072, qwen_coder()), &s);
    assert_eq!((f.context, f.parallel), (32_768, 4));
    let mut embed = warm("nomic", 274_302_450, 8192, llama32());
    embed.completion = false;
    assert_eq!(footprint(&embed, &s).parallel, 1);
    // Unknown geometry: weights and the minimum only, and the KV cache is said to be unknown.
    let unknown = WarmModel {
        geometry: None,
        ..warm("x", GIB, 8192, llama32())
    };
    let f = footprint(&unknown, &s);
    assert_eq!((f.kv_cache, f.total), (None, GIB + METAL_MINIMUM_MEMORY));
}

#[test]
fn kv_cache_type_reads_like_ollama() {
    assert_eq!(KvCacheType::from_env("Q8_0"), KvCacheType::Q8_0);
    assert_eq!(KvCacheType::from_env("q4_0"), KvCacheType::Q4_0);
    assert_eq!(KvCacheType::from_env(""), KvCacheType::F16);
    assert_eq!(KvCacheType::from_env("q5_1"), KvCacheType::F16);
    assert_eq!(KvCacheType::Q8_0.as_str(), "q8_0");
}

/// The worked example of `specs/capacity.md`: a 64 GiB M1 Max whose log says `total="51.8
/// GiB"`, two warm models (qwen2.5-coder:32b at 32k, llama3.2 at 64k), `OLLAMA_NUM_PARALLEL=2`.
fn worked_example() -> (Vec<WarmModel>, ServerSettings, Budget) {
    let models = vec![
        warm("qwen2.5-coder:32b", 19_851_336_256, 32_768, qwen_coder()),
        warm("llama3.2-64k", 2_019_393_189, 65_536, llama32()),
    ];
    let settings = ServerSettings {
        num_parallel: 2,
        ..ServerSettings::default()
    };
    let log = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ollama/logs/inference-compute-mtl0-m1max.log"
    ));
    let limit = measured_limit(&last_start(log).unwrap()).unwrap();
    let b = budget(limit, &models, &settings, Some(64 * GIB));
    (models, settings, b)
}

#[test]
fn the_worked_example_does_not_fit_and_says_what_would() {
    let (models, settings, b) = worked_example();
    assert!(!b.fits());
    let kv: Vec<u64> = b.models.iter().map(|f| f.kv_cache.unwrap()).collect();
    // qwen: 64 × 65536 cells × 256 × 8 × 2 = 16 GiB; llama: 28 × 131072 × 256 × 8 × 2 = 14 GiB.
    assert_eq!(kv, [16 * GIB, 14 * GIB]);
    let advice = b.advice.clone().unwrap();
    assert_eq!(advice.over_by, b.total - b.limit.bytes);
    // Every suggested context fits with the other model unchanged.
    for (i, (name, ctx)) in advice.contexts.iter().enumerate() {
        assert_eq!(name, &models[i].name);
        if let Some(ctx) = ctx {
            let mut changed = models.clone();
            changed[i].context = *ctx;
            assert!(
                budget(b.limit.clone(), &changed, &settings, None).fits(),
                "{name} at {ctx}"
            );
        }
    }
    assert_eq!(advice.parallel, Some(1));
    assert!(advice.kv_cache.iter().all(|k| k.fits));
    // 63 GiB would hold it, but would leave macOS less than its reserve of a 64 GiB Mac.
    assert_eq!(advice.wired_limit_mb, None);
    insta::assert_debug_snapshot!("worked_example_advice", advice);
    insta::assert_debug_snapshot!("worked_example_footprints", b.models);
}

#[test]
fn a_fitting_set_has_no_advice() {
    let models = [warm("llama3.2", 2_019_393_189, 8192, llama32())];
    let b = budget(
        limit(10 * GIB),
        &models,
        &ServerSettings::default(),
        Some(16 * GIB),
    );
    assert!(b.fits());
    assert_eq!(b.advice, None);
    assert_eq!(b.total, b.models[0].total);
}

#[test]
fn advice_on_parallel_kv_and_wired_limit() {
    let models = [warm("llama3.2", 2_019_393_189, 32_768, llama32())];
    let s = ServerSettings {
        num_parallel: 4,
        ..ServerSettings::default()
    };
    let at = |p: u64| {
        footprint(
            &models[0],
            &ServerSettings {
                num_parallel: p,
                ..s
            },
        )
        .total
    };
    // A limit between parallel 2 and 3: the advice is 2.
    let b = budget(limit(at(2) + 1), &models, &s, Some(64 * GIB));
    let advice = b.advice.unwrap();
    assert_eq!(advice.parallel, Some(2));
    // q8_0 and q4_0 save, q4_0 more; each total is recomputed with flash attention on.
    let [q8, q4] = advice.kv_cache[..] else {
        panic!("{:?}", advice.kv_cache)
    };
    assert_eq!(
        (q8.kv_cache_type, q4.kv_cache_type),
        (KvCacheType::Q8_0, KvCacheType::Q4_0)
    );
    assert!(q4.total < q8.total && q8.total < b.total);
    assert_eq!(q8.saving, b.total - q8.total);
    // The wired limit: the sum rounded up to a whole GiB, in MiB.
    let mb = advice.wired_limit_mb.unwrap();
    assert_eq!(mb % 1024, 0);
    assert!(mb * MIB >= b.total && (mb - 1024) * MIB < b.total);
    // Not offered when it would exceed the RAM, nor without knowing it.
    let small = budget(limit(GIB), &models, &s, Some(8 * GIB));
    assert_eq!(small.advice.unwrap().wired_limit_mb, None);
    let unknown = budget(limit(GIB), &models, &s, None);
    assert_eq!(unknown.advice.unwrap().wired_limit_mb, None);
    // Parallel 1 already: nothing lower to offer.
    let one = budget(limit(GIB), &models, &ServerSettings::default(), None);
    assert_eq!(one.advice.unwrap().parallel, None);
}

#[test]
fn a_model_that_cannot_fit_at_any_context_gets_none() {
    let models = [warm("huge", 40 * GIB, 8192, llama32())];
    let b = budget(limit(24 * GIB), &models, &ServerSettings::default(), None);
    assert_eq!(b.advice.unwrap().contexts, [("huge".to_owned(), None)]);
}

/// The KV term agrees with the simulated Mac's (`tests/simmac` `engine::kv_cache_bytes`, which
/// follows `GraphSize`) for every model of its catalogue, cache type and parallelism.
#[test]
fn kv_cache_agrees_with_the_simulated_mac() {
    let registry = simmac::ollama::catalog::default_registry();
    for spec in registry.models.values() {
        let a = &spec.arch;
        let mut info = BTreeMap::new();
        let arch = spec.family.clone();
        info.insert("general.architecture".to_owned(), json!(arch));
        let mut put = |k: &str, v: u64| {
            if v > 0 {
                info.insert(format!("{arch}.{k}"), json!(v));
            }
        };
        put("block_count", a.block_count);
        put("attention.head_count", a.head_count);
        put("attention.head_count_kv", a.head_count_kv);
        put("attention.key_length", a.key_length);
        put("attention.value_length", a.value_length);
        put("embedding_length", spec.embedding_length);
        put("context_length", spec.context_length);
        if a.pooling {
            info.insert(format!("{arch}.pooling_type"), json!(1));
        }
        let Some(g) = kv_geometry(&info) else {
            continue;
        };
        for (kv, fa) in [
            ("", None),
            ("q8_0", None),
            ("q8_0", Some(true)),
            ("q4_0", Some(true)),
        ] {
            for parallel in [1, 3] {
                let mut env = simmac::ollama::env::Env::new();
                env.insert("OLLAMA_NUM_PARALLEL".to_owned(), parallel.to_string());
                env.insert("OLLAMA_KV_CACHE_TYPE".to_owned(), kv.to_owned());
                if fa == Some(true) {
                    env.insert("OLLAMA_FLASH_ATTENTION".to_owned(), "1".to_owned());
                }
                let settings = ServerSettings {
                    num_parallel: parallel,
                    kv_cache_type: KvCacheType::from_env(kv),
                    flash_attention: fa,
                    gpu_overhead: 0,
                };
                for ctx in [2048, 65_536] {
                    let model = WarmModel {
                        name: spec.family.clone(),
                        weights: 0,
                        context: ctx,
                        completion: spec.can_complete(),
                        geometry: Some(g),
                    };
                    let ours = footprint(&model, &settings).kv_cache.unwrap();
                    let fake = simmac::ollama::engine::kv_cache_bytes(&env, spec, ctx);
                    assert_eq!(
                        ours, fake,
                        "{} {kv} {fa:?} ×{parallel} at {ctx}",
                        spec.family
                    );
                }
            }
        }
    }
}

fn geometry() -> impl Strategy<Value = KvGeometry> {
    (
        1u64..=128,
        1u64..=128,
        1u64..=16,
        prop::sample::select(vec![64u64, 96, 128, 256]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(block_count, head_count, kv_div, head, fa_default, supports)| KvGeometry {
                flash_attention_default: fa_default,
                supports_flash_attention: supports,
                block_count,
                head_count,
                head_count_kv: (head_count / kv_div).max(1),
                key_length: head,
                value_length: head,
                context_length: None,
            },
        )
}

fn settings() -> impl Strategy<Value = ServerSettings> {
    (
        1u64..=8,
        prop::sample::select(vec![KvCacheType::F16, KvCacheType::Q8_0, KvCacheType::Q4_0]),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(num_parallel, kv_cache_type, flash_attention)| ServerSettings {
                num_parallel,
                kv_cache_type,
                flash_attention,
                gpu_overhead: 0,
            },
        )
}

proptest! {
    #[test]
    fn footprint_grows_with_context_and_parallel(
        g in geometry(), s in settings(), ctx in 4u64..=262_144, more in 0u64..=65_536, extra in 0u64..=4,
    ) {
        let m = warm("m", GIB, ctx, g);
        let base = footprint(&m, &s).total;
        let longer = footprint(&WarmModel { context: ctx + more, ..m.clone() }, &s).total;
        prop_assert!(longer >= base);
        let wider = ServerSettings { num_parallel: s.num_parallel + extra, ..s };
        prop_assert!(footprint(&m, &wider).total >= base);
    }

    #[test]
    fn quantized_caches_are_smaller(g in geometry(), ctx in 4u64..=262_144, parallel in 1u64..=8) {
        let g = KvGeometry { supports_flash_attention: true, ..g };
        let m = warm("m", GIB, ctx, g);
        let kv = |kind| {
            let s = ServerSettings { num_parallel: parallel, kv_cache_type: kind, flash_attention: Some(true), gpu_overhead: 0 };
            footprint(&m, &s).kv_cache.unwrap()
        };
        prop_assert!(kv(KvCacheType::Q4_0) < kv(KvCacheType::Q8_0));
        prop_assert!(kv(KvCacheType::Q8_0) < kv(KvCacheType::F16));
    }

    #[test]
    fn suggested_contexts_fit(
        g1 in geometry(), g2 in geometry(), s in settings(),
        ctx1 in 1024u64..=131_072, ctx2 in 1024u64..=131_072,
        w1 in 0u64..=(20 * GIB), w2 in 0u64..=(20 * GIB), lim in GIB..=(96 * GIB),
    ) {
        let models = vec![warm("a", w1, ctx1, g1), warm("b", w2, ctx2, g2)];
        let b = budget(limit(lim), &models, &s, Some(128 * GIB));
        prop_assert_eq!(b.advice.is_none(), b.fits());
        if let Some(advice) = &b.advice {
            for (i, (_, ctx)) in advice.contexts.iter().enumerate() {
                if let Some(ctx) = ctx {
                    prop_assert!(*ctx <= models[i].context);
                    let mut changed = models.clone();
                    changed[i].context = *ctx;
                    prop_assert!(budget(limit(lim), &changed, &s, None).fits());
                }
            }
            if let Some(p) = advice.parallel {
                prop_assert!(p < s.num_parallel);
                let fewer = ServerSettings { num_parallel: p, ..s };
                prop_assert!(budget(limit(lim), &models, &fewer, None).fits());
            }
            for kv in &advice.kv_cache {
                prop_assert!(kv.saving > 0);
                prop_assert_eq!(kv.fits, kv.total <= lim);
            }
            if let Some(mb) = advice.wired_limit_mb {
                prop_assert!(budget(limit(mb * MIB), &models, &s, None).fits());
            }
        }
    }
}
