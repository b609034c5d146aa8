//! Opening a file, the same for the command line and the viewer: a recording (it starts with the
//! MCAP magic), a scene, or the embedded demo hall when there is no file.

use std::path::Path;

use crate::model::Site;
use crate::recording::Player;
use crate::scene;

/// What a file opened as.
pub enum Opened {
    /// A scene to simulate live, with its display name.
    Scene { name: String, site: Site },
    /// A recording to replay (its scene is embedded).
    Recording { name: String, player: Box<Player> },
}

impl Opened {
    pub fn name(&self) -> &str {
        match self {
            Opened::Scene { name, .. } | Opened::Recording { name, .. } => name,
        }
    }

    pub fn site(&self) -> &Site {
        match self {
            Opened::Scene { site, .. } => site,
            Opened::Recording { player, .. } => &player.site,
        }
    }
}

/// Whether `path` is a recording: it starts with the MCAP magic.
pub fn is_recording(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && head == *mcap::MAGIC
}

/// Loads the scene to open: a file, or the embedded demo hall. Errors say file:line:col.
pub fn load_scene_or_demo(file: Option<&Path>) -> Result<(String, Site), String> {
    match file {
        None => scene::parse(scene::DEMO_SCENE)
            .map(|l| ("demo-hall (embedded)".to_string(), l.site))
            .map_err(|e| e.0.iter().map(|d| d.display("embedded demo").to_string()).collect::<Vec<_>>().join("\n")),
        Some(f) => {
            let name = f.display().to_string();
            scene::load_file(f)
                .map(|l| (name.clone(), l.site))
                .map_err(|e| e.0.iter().map(|d| d.display(&name).to_string()).collect::<Vec<_>>().join("\n"))
        }
    }
}

/// Opens `file` (or the embedded demo) as a scene or a recording, reading it once.
pub fn open(file: Option<&Path>) -> Result<Opened, String> {
    match file {
        Some(path) if is_recording(path) => {
            let player = Player::open(path)?;
            Ok(Opened::Recording { name: format!("{} (recording)", path.display()), player: Box::new(player) })
        }
        _ => load_scene_or_demo(file).map(|(name, site)| Opened::Scene { name, site }),
    }
}
