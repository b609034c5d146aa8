//! Time control for a recording: a plain state machine. The viewer sends `PlaybackCommand`s and
//! calls `advance` once per frame with the wall time that passed, then seeks the `Player` to
//! `time_s`.

use super::TimeRange;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PlaybackCommand {
    Play,
    Pause,
    TogglePlay,
    /// Sim seconds per wall second; negative plays backwards.
    SetSpeed(f64),
    StepForward,
    StepBack,
    SetTime(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Playback {
    pub time_s: f64,
    pub speed: f64,
    pub playing: bool,
    pub range: TimeRange,
    /// One sample: what a step moves.
    pub step_s: f64,
}

impl Playback {
    pub fn new(range: TimeRange, step_s: f64) -> Playback {
        Playback { time_s: range.start_s, speed: 1.0, playing: false, range, step_s: step_s.max(1e-3) }
    }

    fn clamp(&mut self) {
        self.time_s = if self.time_s.is_finite() {
            self.time_s.clamp(self.range.start_s, self.range.end_s)
        } else {
            self.range.start_s
        };
    }

    pub fn apply(&mut self, c: PlaybackCommand) {
        match c {
            PlaybackCommand::Play => self.playing = true,
            PlaybackCommand::Pause => self.playing = false,
            PlaybackCommand::TogglePlay => self.playing = !self.playing,
            PlaybackCommand::SetSpeed(s) if s.is_finite() => self.speed = s,
            PlaybackCommand::SetSpeed(_) => {}
            PlaybackCommand::StepForward => {
                self.playing = false;
                self.time_s += self.step_s;
            }
            PlaybackCommand::StepBack => {
                self.playing = false;
                self.time_s -= self.step_s;
            }
            PlaybackCommand::SetTime(t) => self.time_s = t,
        }
        self.clamp();
    }

    /// Moves time on by `wall_dt` seconds at the current speed; stops at either end.
    pub fn advance(&mut self, wall_dt: f64) -> f64 {
        if self.playing && wall_dt.is_finite() && wall_dt > 0.0 {
            self.time_s += wall_dt * self.speed;
            let at_end = (self.speed > 0.0 && self.time_s >= self.range.end_s)
                || (self.speed < 0.0 && self.time_s <= self.range.start_s);
            if at_end {
                self.playing = false;
            }
        }
        self.clamp();
        self.time_s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pb() -> Playback {
        Playback::new(TimeRange { start_s: 0.0, end_s: 100.0 }, 1.0)
    }

    #[test]
    fn plays_forward_and_stops_at_the_end() {
        let mut p = pb();
        p.apply(PlaybackCommand::SetSpeed(10.0));
        p.apply(PlaybackCommand::Play);
        assert_eq!(p.advance(2.0), 20.0);
        assert_eq!(p.advance(100.0), 100.0);
        assert!(!p.playing);
    }

    #[test]
    fn plays_in_reverse_and_stops_at_the_start() {
        let mut p = pb();
        p.apply(PlaybackCommand::SetTime(50.0));
        p.apply(PlaybackCommand::SetSpeed(-5.0));
        p.apply(PlaybackCommand::TogglePlay);
        assert_eq!(p.advance(4.0), 30.0);
        assert_eq!(p.advance(60.0), 0.0);
        assert!(!p.playing);
    }

    #[test]
    fn steps_pause_and_clamp() {
        let mut p = pb();
        p.apply(PlaybackCommand::Play);
        p.apply(PlaybackCommand::StepForward);
        assert!(!p.playing);
        assert_eq!(p.time_s, 1.0);
        p.apply(PlaybackCommand::StepBack);
        p.apply(PlaybackCommand::StepBack);
        assert_eq!(p.time_s, 0.0);
        p.apply(PlaybackCommand::SetTime(f64::NAN));
        assert_eq!(p.time_s, 0.0);
        p.apply(PlaybackCommand::SetTime(1e9));
        assert_eq!(p.time_s, 100.0);
        p.apply(PlaybackCommand::SetSpeed(f64::INFINITY));
        assert_eq!(p.speed, 1.0);
        assert_eq!(p.advance(-1.0), 100.0);
    }
}
