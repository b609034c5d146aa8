//! The CLI as users and CI call it: exit codes, messages with positions, reports.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_factory-twin"))
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("factory-twin-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn scenes() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_scene_validates() {
    let paths = scenes();
    assert!(paths.len() >= 4);
    let mut args = vec!["validate".to_string()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let o = bin().args(&args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn generated_10k_scene_validates() {
    let out = tmp("g10k.ron");
    let o = run(&["generate", "--racks", "10000", "--halls", "10", "--seed", "3", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["validate", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("10000 racks"));
}

/// Each broken scene exits 1 with a position or object id, and never panics.
#[test]
fn broken_scenes_exit_1_with_where_and_what() {
    let demo = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo-hall.ron")).unwrap();
    let garbage: Vec<u8> = (0..3000u32).map(|i| (i.wrapping_mul(2654435761) >> 7) as u8).collect();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "misspelt.ron",
            demo.replacen("rack_type: \"gb300-nvl72\"", "rack_type: \"gb300-nvl27\"", 1).into_bytes(),
            "hall-1/row-A",
        ),
        ("truncated.ron", demo.as_bytes()[..demo.len() / 3].to_vec(), ".ron:"),
        ("empty.ron", Vec::new(), "empty.ron:1:1"),
        ("garbage.ron", garbage, "garbage.ron:"),
        (
            "wrong-type.ron",
            demo.replace("ceiling_height_m: 5.0", "ceiling_height_m: \"tall\"").into_bytes(),
            "wrong-type.ron:",
        ),
        (
            "overlap.ron",
            demo.replacen("(id: \"rack-02\")", "(id: \"rack-02\", at: 0.2)", 1).into_bytes(),
            "overlaps hall-1/row-A/rack-0",
        ),
    ];
    for (name, bytes, expect) in cases {
        let path = tmp(name);
        std::fs::write(&path, &bytes).unwrap();
        let o = run(&["validate", path.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(expect), "{name}: expected {expect:?} in\n{err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        // Every error line says where: file:line:col.
        let first = err.lines().next().unwrap_or("");
        let after = first.split_once(".ron:").map(|x| x.1).unwrap_or("");
        assert!(after.split(':').next().is_some_and(|l| l.parse::<usize>().is_ok()), "{name}: no line in {first:?}");
    }
}

#[test]
fn simulate_reports_every_documented_key() {
    let o = run(&[
        "simulate",
        "scenes/demo-hall.ron",
        "--duration",
        "10m",
        "--fail",
        "cdu:hall-1/cdu-1@60",
        "--report",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "sim_seconds",
        "wall_seconds",
        "speedup",
        "racks",
        "it_power_kw",
        "facility_power_kw",
        "pue",
        "heat_rejected_kw",
        "energy_balance_error",
        "max_gpu_temp_c",
        "max_inlet_air_c",
        "output_fraction",
        "tokens_per_s",
        "throttle_onset_s",
        "alarms",
        "server_fan_kw",
        "tokens_of",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert!(v.get("weather").is_none(), "no weather section without --weather");
    assert_eq!(v["sim_seconds"], 600.0);
    assert!(v["throttle_onset_s"].as_f64().unwrap() > 60.0);
    assert!(v["output_fraction"].as_f64().unwrap() < 0.5);
    assert!(!v["alarms"].as_array().unwrap().is_empty());
}

/// Two days of Chicago's TMY3 year on the demo hall: the report's weather section, and what the
/// tokens are of; a cut-short weather file and an unknown benchmark are refused.
#[test]
fn simulate_through_a_weather_file_reports_the_period() {
    let epw = "assets/weather/USA_IL_Chicago-OHare.Intl.AP.725300_TMY3.epw";
    let o = run(&["simulate", "scenes/demo-hall.ron", "--weather", epw, "--duration", "2d", "--dt", "60s"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let w = &v["weather"];
    assert_eq!(w["hours"], 48);
    assert!(w["location"].as_str().unwrap().starts_with("Chicago Ohare"), "{w}");
    // Dry coolers only: every hour is on the economiser; January in Chicago is cold.
    assert_eq!((w["economiser_hours"].as_u64(), w["chiller_hours"].as_u64()), (Some(48), Some(0)));
    assert!(w["worst_hour"]["dry_bulb_c"].as_f64().unwrap() < 10.0, "{w}");
    let pue = w["pue"].as_f64().unwrap();
    assert!(pue > 1.0 && pue < 1.5, "{pue}");
    assert!(w["energy_balance_error"].as_f64().unwrap() < 1e-3, "{w}");
    assert!(v["tokens_of"].as_str().unwrap().starts_with("Llama 3.1 405B"), "{}", v["tokens_of"]);

    let cut = tmp("cut.epw");
    let text = std::fs::read_to_string(epw).unwrap();
    std::fs::write(&cut, text.lines().take(100).collect::<Vec<_>>().join("\n")).unwrap();
    let o = run(&["simulate", "scenes/demo-hall.ron", "--weather", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cut.epw:101:1: 92 hourly rows"), "{}", stderr(&o));
    let o = run(&["simulate", "scenes/demo-hall.ron", "--benchmark", "llama4"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not an MLPerf benchmark"), "{}", stderr(&o));
    let o = run(&["simulate", "scenes/demo-hall.ron", "--weather", epw, "--ambient", "30"]);
    assert_eq!(o.status.code(), Some(2), "clap refuses the pair");
}

#[test]
fn simulate_refuses_bad_flags_with_a_message() {
    for (args, expect) in [
        (vec!["--fail", "pump@60"], "not a failure kind"),
        (vec!["--fail", "cdu@soon"], "duration"),
        (vec!["--duration", "2x"], "--duration"),
        (vec!["--utilization", "1.5"], "--utilization"),
        (vec!["--dt", "0"], "time step"),
    ] {
        let mut all = vec!["simulate", "scenes/demo-hall.ron"];
        all.extend(args.iter().copied());
        let o = run(&all);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(expect), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn generate_refuses_impossible_requests() {
    let out = tmp("never.ron");
    let o = run(&[
        "generate",
        "--racks",
        "10",
        "--rack-type",
        "hgx-h100-air",
        "--cooling",
        "liquid",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("air-cooled"));
    assert!(!out.exists());
}

/// kill -9 in the middle of a recording: everything but the chunk in progress is readable.
#[test]
fn a_recording_killed_mid_write_reopens() {
    use std::io::Read;
    let out = tmp("killed.mcap");
    let _ = std::fs::remove_file(&out);
    let mut child = bin()
        .args([
            "simulate",
            "scenes/campus-1152.ron",
            "--duration",
            "7d",
            "--progress",
            "--record",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (on the child's own progress, not the clock) until it has simulated an hour: the
    // recorder's writer is at most a few batches (~140 s) behind the simulation, so a dozen
    // 60-s chunks are in the file by then.
    let mut progress = child.stderr.take().unwrap();
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = progress.read(&mut buf).unwrap();
        assert!(n > 0, "the simulation ended before it could be killed: {}", String::from_utf8_lossy(&text));
        text.extend_from_slice(&buf[..n]);
        let s = String::from_utf8_lossy(&text);
        // Each redraw ends "… sim N s".
        let sim_s = s
            .rsplit('\r')
            .filter_map(|d| d.trim().strip_suffix(" s")?.rsplit_once("sim ")?.1.parse::<f64>().ok())
            .next();
        if sim_s.is_some_and(|t| t >= 3600.0) {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let o = run(&["replay", out.to_str().unwrap(), "--at", "1d"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("no index"), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["time_s"].as_f64().unwrap() >= 60.0);
    assert_eq!(v["racks"], 1152);
    let o = run(&["replay", out.to_str().unwrap(), "--events"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Never overwritten: recording to the same path again is refused.
    let o = run(&["simulate", "scenes/demo-hall.ron", "--duration", "1m", "--record", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"));
}

#[test]
fn export_writes_tidy_csv() {
    let rec = tmp("export.mcap");
    let csv = tmp("export.csv");
    let _ = std::fs::remove_file(&rec);
    let o = run(&["simulate", "scenes/demo-hall.ron", "--duration", "5m", "--record", rec.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["export", rec.to_str().unwrap(), "--csv", csv.to_str().unwrap(), "--every", "1m"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("time_s,object,kind,metric,value"));
    assert!(text.contains("hall-1/row-A/rack-01,rack,gpu_c,"));
    assert!(text.contains("\n300,site,site,pue,"));
    assert!(!text.contains("\n30,"), "--every 1m keeps one sample a minute");
}

/// `report`: the documented JSON line and files, the failure's story, the reviewers' notes
/// beside the recording in it; a window outside the run exits 1 saying the run's span.
#[test]
fn report_writes_the_incident_report_with_the_notes() {
    let rec = tmp("incident.mcap");
    let out = tmp("incident-report");
    let _ = std::fs::remove_file(&rec);
    let o = run(&[
        "simulate",
        "scenes/demo-hall.ron",
        "--duration",
        "15m",
        "--fail",
        "cdu:hall-1/cdu-1@2m",
        "--restore",
        "cdu:hall-1/cdu-1@6m",
        "--record",
        rec.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let notes = format!("{}.notes.ron", rec.display());
    std::fs::write(&notes, "(version: 1, notes: [(at_s: 130.0, text: \"pumps tripped\", bookmark: true)])").unwrap();
    // Without a display the report comes without pictures of the view, and says so.
    let o = bin()
        .args(["report", rec.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("no pictures of the view"), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "from_s",
        "to_s",
        "samples",
        "events",
        "onset_s",
        "first_throttle_s",
        "first_shutdown_s",
        "back_to_full_s",
        "gpu_hours_lost",
        "tokens_lost",
        "tokens_possible",
        "peak_gpu_c",
        "pue",
        "problems",
        "files",
        "seconds",
    ] {
        assert!(json.get(key).is_some(), "no {key} in {json}");
    }
    assert_eq!(json["onset_s"], 120.0);
    assert!(json["gpu_hours_lost"].as_f64().unwrap() > 0.0);
    for f in ["report.html", "report.md", "events.csv", "output.svg", "temperatures.svg", "power.svg"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| 0:02:10 | bookmark: pumps tripped |"), "{md}");
    let o = run(&["report", rec.to_str().unwrap(), "--out", out.to_str().unwrap(), "--from", "1h"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("0..900 s"), "{}", stderr(&o));
    // On a (virtual) display: the view at onset, worst moment and recovery, inlined in the page.
    #[cfg(feature = "app")]
    {
        let o = Command::new("xvfb-run")
            .args(["-a", "-s", "-screen 0 1920x1080x24", env!("CARGO_BIN_EXE_factory-twin")])
            .args(["report", rec.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        for f in ["onset.png", "worst.png", "recovery.png"] {
            let png = image::open(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}")).to_rgb8();
            assert_eq!(png.dimensions(), (1200, 675), "{f}");
        }
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 3);
    }
}

/// `edit`: the README's example writes a scene of 7 racks that validates; a step that would
/// overload the CDU exits 1 with the script's line:col and writes nothing; SCENE is never
/// written over without --in-place.
#[test]
fn edit_applies_a_script_or_says_where_it_is_refused() {
    let out = tmp("edited.ron");
    let _ = std::fs::remove_file(&out);
    let o = run(&["edit", "scenes/demo-hall.ron", "scenes/edits/demo-row-c.ron", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("7 racks"), "{}", stderr(&o));
    let o = run(&["validate", out.to_str().unwrap()]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("7 racks"), "{}", stderr(&o));

    let script = tmp("too-many.ron");
    std::fs::write(
        &script,
        "[\n  Remove(id: \"hall-1/row-B/rack-03\"),\n  AddRack(row: \"hall-1/row-B\", rack_type: \"gb300-nvl72\"),\n  AddRack(row: \"hall-1/row-B\", rack_type: \"gb300-nvl72\"),\n]\n",
    )
    .unwrap();
    let refused = tmp("refused.ron");
    let _ = std::fs::remove_file(&refused);
    let o = run(&["edit", "scenes/demo-hall.ron", script.to_str().unwrap(), "--out", refused.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("too-many.ron:4:3") && err.contains("over capacity"), "{err}");
    assert!(!refused.exists(), "nothing is written when a step is refused");
    // Neither --out nor --in-place: clap refuses, SCENE untouched.
    let o = run(&["edit", "scenes/demo-hall.ron", "scenes/edits/demo-row-c.ron"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Recording bytes are a promise: a recording made today equals, byte for byte, the one the
/// same command made before the sim/recording restructuring (session 6, issue 12). The hash
/// is FNV-1a 64 of the whole file. It changes only on purpose: new physics, a new codec
/// version, or the `mcap` crate's library string in the header (`mcap-rust/0.26.0`). Last
/// changed on purpose in session 9 (issue 16): chillers on their EIR curves (this scene's now
/// water-cooled, staged, behind an economiser run for least power), air-cooled servers on
/// EnergyPlus ITE, the energy balance closed at every step, tokens/s from MLPerf, CDU flow
/// alarms restated as pumps fail, and chiller, dry cooler and CRAH columns added to the state;
/// then (issue 17) a loop without flow and a CDU whose supply runs away raise alarms, and a rack
/// that stops is counted as down only, not also as throttled.
#[test]
fn a_recording_is_byte_identical_to_the_one_made_before_the_restructuring() {
    let rec = tmp("golden.mcap");
    let _ = std::fs::remove_file(&rec);
    let o = run(&[
        "simulate",
        "scenes/mixed-air-hall.ron",
        "--duration",
        "2h",
        "--fail",
        "utility@10m",
        "--fail",
        "cdu@20m",
        "--restore",
        "utility@25m",
        "--fail",
        "chiller@40m",
        "--record",
        rec.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&rec).unwrap();
    let fnv = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    assert_eq!((bytes.len(), format!("{fnv:#x}")), (3_796_452, "0xb00260ac6c0fac5b".to_string()));
}

/// Runs the binary with `args` on a display: the one we have, or a virtual one from xvfb-run.
#[cfg(feature = "app")]
fn on_display<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    if std::env::var_os("DISPLAY").is_some() {
        bin().args(args).output().unwrap()
    } else {
        Command::new("xvfb-run")
            .args(["-a", "-s", "-screen 0 1920x1080x24", env!("CARGO_BIN_EXE_factory-twin")])
            .args(args)
            .output()
            .expect("screenshot checks need xvfb-run (installed by scripts/setup)")
    }
}

/// Runs `render` on a display and reads the PNG it wrote.
#[cfg(feature = "app")]
fn render(out: &Path, extra: &[&str]) -> image::RgbImage {
    let mut args: Vec<String> = vec!["render".into(), "--out".into(), out.display().to_string()];
    args.extend(["--size", "1280x720"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = on_display(&args);
    assert!(o.status.success(), "render failed: {}", stderr(&o));
    image::open(out).unwrap().to_rgb8()
}

#[cfg(feature = "app")]
fn saturation(p: &image::Rgb<u8>) -> i32 {
    let [r, g, b] = p.0.map(i32::from);
    r.max(g).max(b) - r.min(g).min(b)
}

/// Screenshot check with tolerances: the racks are coloured by the metric, the legend is there,
/// and a failure shows as red racks.
#[cfg(feature = "app")]
#[test]
fn render_draws_coloured_racks_and_the_legend() {
    let steady = render(&tmp("steady.png"), &[]);
    assert_eq!(steady.dimensions(), (1280, 720));
    // The legend: a row in the left panel running from blue to red.
    let legend_row = (0..300u32).find(|&y| {
        let sat: Vec<u32> = (0..260u32).filter(|&x| saturation(steady.get_pixel(x, y)) > 90).collect();
        if sat.len() < 150 {
            return false;
        }
        let (l, r) = (steady.get_pixel(sat[0], y).0, steady.get_pixel(*sat.last().unwrap(), y).0);
        l[2] > l[0] + 40 && r[0] > r[2] + 40
    });
    assert!(legend_row.is_some(), "no blue-to-red legend in the left panel");
    // The 3D view holds coloured racks.
    let view = |img: &image::RgbImage, f: &dyn Fn(&image::Rgb<u8>) -> bool| {
        let mut n = 0;
        for y in 60..680 {
            for x in 290..940 {
                n += u32::from(f(img.get_pixel(x, y)));
            }
        }
        n
    };
    let coloured = view(&steady, &|p| saturation(p) > 90);
    assert!(coloured > 2_000, "only {coloured} coloured pixels in the 3D view");
    // With the CDU failed for a minute the GPUs shut down: the racks turn red.
    let failed = render(&tmp("failed.png"), &["--fail", "cdu@0", "--at", "60"]);
    let red = |p: &image::Rgb<u8>| p.0[0] as i32 > p.0[1] as i32 + 80 && p.0[0] as i32 > p.0[2] as i32 + 80;
    let (red_steady, red_failed) = (view(&steady, &red), view(&failed, &red));
    assert!(red_failed > 2_000 && red_failed > 5 * red_steady, "red pixels: steady {red_steady}, failed {red_failed}");
}

#[test]
fn render_refuses_bad_arguments_with_a_message() {
    for (args, expect) in [
        (vec!["render", "--out", "x.png", "--metric", "nope"], "--metric"),
        (vec!["render", "--out", "x.png", "--size", "12"], "--size"),
        (vec!["render", "--out", "x.png", "--at", "soon"], "--at"),
    ] {
        let o = run(&args);
        assert!(!o.status.success());
        assert!(stderr(&o).contains(expect), "{args:?}: {}", stderr(&o));
    }
}

/// Issue 15: `render --demo` writes the default demo's whole story as frames, the same bytes on
/// every run (the run is stepped with the frames, the clock is the frame count).
#[cfg(feature = "app")]
#[test]
fn the_default_demo_renders_to_the_same_frames_every_time() {
    let frames = |dir: &Path| {
        let _ = std::fs::remove_dir_all(dir);
        let args =
            ["render", "--demo", "embedded", "--frames", &dir.display().to_string(), "--fps", "1", "--size", "320x180"];
        let o = on_display(&args);
        assert!(o.status.success(), "render --demo failed: {}", stderr(&o));
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        names
    };
    let (a, b) = (frames(&tmp("demo-a")), frames(&tmp("demo-b")));
    // About two minutes of story at one frame a second, numbered from 1.
    assert!((85..=150).contains(&a.len()), "{} frames", a.len());
    assert!(a[0].ends_with("frame-00001.png"));
    assert_eq!(
        a.iter().map(|p| p.file_name()).collect::<Vec<_>>(),
        b.iter().map(|p| p.file_name()).collect::<Vec<_>>()
    );
    for (x, y) in a.iter().zip(&b) {
        assert!(std::fs::read(x).unwrap() == std::fs::read(y).unwrap(), "{} differs between runs", x.display());
    }
    // The story moves: the camera's first shot and the last (the aerial) are different pictures.
    assert_ne!(std::fs::read(&a[0]).unwrap(), std::fs::read(a.last().unwrap()).unwrap());
}

#[test]
fn a_broken_demo_file_says_where_and_writes_nothing() {
    let dir = tmp("demo-broken");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let src = factory_twin::demo::DEFAULT_DEMO.replacen("hold_s: 11.0", "hold_s: eleven", 1);
    assert_ne!(src, factory_twin::demo::DEFAULT_DEMO);
    let file = dir.join("story.ron");
    std::fs::write(&file, &src).unwrap();
    let line = src.lines().position(|l| l.contains("eleven")).unwrap() + 1;
    let frames = dir.join("frames");
    for args in [
        vec!["demo".to_string(), file.display().to_string()],
        vec![
            "render".into(),
            "--demo".into(),
            file.display().to_string(),
            "--frames".into(),
            frames.display().to_string(),
        ],
    ] {
        let o = bin().args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(&format!("story.ron:{line}:")), "{args:?}: {}", stderr(&o));
    }
    assert!(!frames.exists(), "nothing written for a broken demo");
    // The demo's scene beside it must exist.
    std::fs::write(&file, factory_twin::demo::DEFAULT_DEMO).unwrap();
    let o = bin().args(["demo", &file.display().to_string()]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("gb300-factory.ron"), "{}", stderr(&o));
    // --frames without --demo, --demo without --frames: refused by the parser.
    assert!(!run(&["render", "--frames", "x"]).status.success());
    assert!(!run(&["render", "--demo", "embedded"]).status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `check`: the demo hall's single failures ranked, in JSON with the documented keys; sliced
/// three ways and merged, byte for byte the local report; a Slurm and a Kubernetes plan; bad
/// input refused with exit 1 and nothing half-written.
#[test]
fn check_ranks_failures_and_its_slices_merge_to_the_local_report() {
    let args = ["check", "scenes/demo-hall.ron", "--duration", "20m", "--at", "300s", "--report", "json"];
    let local = run(&[&args[..], &["--jobs", "2"]].concat());
    assert!(local.status.success(), "{}", stderr(&local));
    let v: serde_json::Value = serde_json::from_slice(&local.stdout).unwrap();
    for key in [
        "scene",
        "options",
        "candidates",
        "healthy_tokens_per_s",
        "gpus",
        "results",
        "summary",
        "single_points_of_failure",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let first = &v["results"][0];
    for key in [
        "failure",
        "tokens_lost",
        "gpu_hours_lost",
        "first_throttle_after_s",
        "first_shutdown_after_s",
        "peak_gpu_c",
        "peak_coolant_c",
        "peak_inlet_c",
        "racks_affected",
        "redundancy",
        "costs_output",
    ] {
        assert!(first.get(key).is_some(), "missing results[].{key}");
    }
    assert!(v["single_points_of_failure"].as_array().unwrap().iter().any(|x| x == "cdu hall-1/cdu-1"));

    let dir = tmp("check-slices");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..3 {
        let o = run(&[&args[..], &["--jobs", "1", "--slice", &format!("{i}/3")]].concat());
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::write(dir.join(format!("result-{i}.json")), &o.stdout).unwrap();
    }
    let merged = run(&["check", "--merge", dir.to_str().unwrap(), "--report", "json"]);
    assert!(merged.status.success(), "{}", stderr(&merged));
    assert_eq!(merged.stdout, local.stdout, "the merge is the local report, byte for byte");

    // A damaged slice and a missing one are refused by name.
    std::fs::write(dir.join("result-1.json"), b"{\"format\": \"factory-twin-check-slice-v1\", \"scene\"").unwrap();
    let o = run(&["check", "--merge", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("result-1.json:1:") && stderr(&o).contains("run that task again"), "{}", stderr(&o));
    std::fs::remove_file(dir.join("result-1.json")).unwrap();
    let o = run(&["check", "--merge", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("slice 1 of 3 is missing"), "{}", stderr(&o));

    // Plans: an sbatch array script and an Indexed Job, each naming the slices and the merge.
    for (plan, file, needle) in
        [("slurm", "check.sbatch", "#SBATCH --array=0-3"), ("k8s", "check-job.yaml", "completionMode: Indexed")]
    {
        let out = tmp(&format!("plan-{plan}"));
        let _ = std::fs::remove_dir_all(&out);
        let o =
            run(&["check", "scenes/demo-hall.ron", "--plan", plan, "--slices", "4", "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(text.contains(needle) && text.contains("--slice") && text.contains("result-"), "{text}");
    }

    // Bad input: exit 1 with a message, or 2 from clap.
    for (extra, expect) in [
        (vec!["--kinds", "cdu,pump"], "\"pump\" is not a failure kind"),
        (vec!["--slice", "3/3"], "--slice 3/3"),
        (vec!["--depth", "3"], "--depth 3"),
        (vec!["--jobs", "0"], "--jobs 0"),
        (vec!["--ambient", "99"], "--ambient 99"),
    ] {
        let o = run(&[&["check", "scenes/demo-hall.ron"][..], &extra[..]].concat());
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(expect), "{extra:?}: {}", stderr(&o));
    }
    let o = run(&["check", "scenes/empty-hall.ron"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no racks"), "{}", stderr(&o));
    let o = run(&["check", "scenes/campus-1152.ron", "--depth", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("pairs of failures") && stderr(&o).contains("--yes"), "{}", stderr(&o));
}
