//! Time control for a recording: a plain state machine, as Rerun's time panel has it. The
//! viewer's panels and keys only send `PlaybackCommand`s; the viewer applies them and calls
//! `advance` once per frame with the wall time that passed, then seeks the `Player` to `time_s`.

use super::TimeRange;

/// The slowest and fastest fixed speeds, sim seconds per wall second, either way.
pub const MIN_SPEED: f64 = 0.1;
pub const MAX_SPEED: f64 = 10_000.0;
/// `Speed::Max` plays the whole recording in this many wall seconds, whatever its length.
pub const MAX_SPEED_WALL_S: f64 = 10.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PlaybackCommand {
    Play,
    Pause,
    TogglePlay,
    /// Sim seconds per wall second; negative plays backwards. Clamped to 0.1–10,000 either way.
    SetSpeed(f64),
    /// As fast as is useful: the whole recording in `MAX_SPEED_WALL_S`, in the current direction.
    SetMaxSpeed,
    /// Plays backwards at the same speed, or forwards again.
    Reverse,
    /// One sample on or back.
    StepForward,
    StepBack,
    /// On (positive) or back by this many sim seconds, paused: Shift+arrows move a minute.
    Jump(f64),
    SetTime(f64),
    /// The first or last sample (Home, End).
    ToStart,
    ToEnd,
    /// The next or previous event after or before the current time (Ctrl+arrows).
    NextEvent,
    PrevEvent,
    /// Plays `from..to` over and over (a shift-drag on the track); `None` ends the loop.
    SetLoop(Option<(f64, f64)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Playback {
    pub time_s: f64,
    pub speed: f64,
    /// `Speed::Max`: the speed follows the recording's length.
    pub max_speed: bool,
    pub playing: bool,
    pub range: TimeRange,
    /// One sample: what a step moves.
    pub step_s: f64,
    /// Times of the recording's events, sorted: where Ctrl+arrows go.
    pub events: Vec<f64>,
    /// The range playing in a loop, within `range`.
    pub looping: Option<(f64, f64)>,
}

impl Playback {
    pub fn new(range: TimeRange, step_s: f64) -> Playback {
        Playback {
            time_s: range.start_s,
            speed: 1.0,
            max_speed: false,
            playing: false,
            range,
            step_s: step_s.max(1e-3),
            events: Vec::new(),
            looping: None,
        }
    }

    /// With the times events happened at (any order; non-finite ones are dropped).
    pub fn with_events(mut self, times: impl IntoIterator<Item = f64>) -> Playback {
        self.events = times.into_iter().filter(|t| t.is_finite()).collect();
        self.events.sort_by(f64::total_cmp);
        self.events.dedup();
        self
    }

    fn clamp(&mut self) {
        self.time_s = if self.time_s.is_finite() {
            self.time_s.clamp(self.range.start_s, self.range.end_s)
        } else {
            self.range.start_s
        };
    }

    /// The speed `SetMaxSpeed` gives this recording.
    pub fn max_speed_value(&self) -> f64 {
        ((self.range.end_s - self.range.start_s) / MAX_SPEED_WALL_S).max(MIN_SPEED)
    }

    pub fn apply(&mut self, c: PlaybackCommand) {
        match c {
            PlaybackCommand::Play => self.playing = true,
            PlaybackCommand::Pause => self.playing = false,
            PlaybackCommand::TogglePlay => self.playing = !self.playing,
            PlaybackCommand::SetSpeed(s) if s.is_finite() && s != 0.0 => {
                self.speed = s.signum() * s.abs().clamp(MIN_SPEED, MAX_SPEED);
                self.max_speed = false;
            }
            PlaybackCommand::SetSpeed(_) => {}
            PlaybackCommand::SetMaxSpeed => {
                self.speed = self.speed.signum() * self.max_speed_value();
                self.max_speed = true;
            }
            PlaybackCommand::Reverse => self.speed = -self.speed,
            PlaybackCommand::StepForward => {
                self.playing = false;
                self.time_s += self.step_s;
            }
            PlaybackCommand::StepBack => {
                self.playing = false;
                self.time_s -= self.step_s;
            }
            PlaybackCommand::Jump(dt) if dt.is_finite() => {
                self.playing = false;
                self.time_s += dt;
            }
            PlaybackCommand::Jump(_) => {}
            PlaybackCommand::SetTime(t) => self.time_s = t,
            PlaybackCommand::ToStart => self.time_s = self.range.start_s,
            PlaybackCommand::ToEnd => self.time_s = self.range.end_s,
            PlaybackCommand::NextEvent => {
                // Half a step of slack, so an event on show is not found again.
                let now = self.time_s + self.step_s / 2.0;
                if let Some(&t) = self.events.iter().find(|&&t| t > now) {
                    self.playing = false;
                    self.time_s = t;
                }
            }
            PlaybackCommand::PrevEvent => {
                let now = self.time_s - self.step_s / 2.0;
                if let Some(&t) = self.events.iter().rev().find(|&&t| t < now) {
                    self.playing = false;
                    self.time_s = t;
                }
            }
            PlaybackCommand::SetLoop(None) => self.looping = None,
            PlaybackCommand::SetLoop(Some((a, b))) => {
                let (lo, hi) = (a.min(b), a.max(b));
                let (lo, hi) = (lo.max(self.range.start_s), hi.min(self.range.end_s));
                // A loop shorter than a sample would only flicker.
                self.looping = (lo.is_finite() && hi.is_finite() && hi - lo >= self.step_s).then_some((lo, hi));
                if let Some((lo, hi)) = self.looping {
                    if self.time_s < lo || self.time_s > hi {
                        self.time_s = if self.speed < 0.0 { hi } else { lo };
                    }
                }
            }
        }
        self.clamp();
    }

    /// Moves time on by `wall_dt` seconds at the current speed. Stops at either end, or wraps
    /// round the loop range when one is set.
    pub fn advance(&mut self, wall_dt: f64) -> f64 {
        if self.playing && wall_dt.is_finite() && wall_dt > 0.0 {
            self.time_s += wall_dt * self.speed;
            match self.looping {
                Some((lo, hi)) => {
                    let len = hi - lo;
                    if self.time_s > hi {
                        self.time_s = lo + (self.time_s - hi) % len;
                    } else if self.time_s < lo {
                        self.time_s = hi - (lo - self.time_s) % len;
                    }
                }
                None => {
                    let at_end = (self.speed > 0.0 && self.time_s >= self.range.end_s)
                        || (self.speed < 0.0 && self.time_s <= self.range.start_s);
                    if at_end {
                        self.playing = false;
                    }
                }
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
        // Reverse turns round at the same speed.
        p.apply(PlaybackCommand::Reverse);
        p.apply(PlaybackCommand::Play);
        assert_eq!(p.advance(1.0), 5.0);
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

    #[test]
    fn speeds_are_clamped_to_a_tenth_and_ten_thousand_and_max_follows_the_length() {
        let mut p = pb();
        p.apply(PlaybackCommand::SetSpeed(0.01));
        assert_eq!(p.speed, MIN_SPEED);
        p.apply(PlaybackCommand::SetSpeed(-1e6));
        assert_eq!(p.speed, -MAX_SPEED);
        p.apply(PlaybackCommand::SetSpeed(0.0));
        assert_eq!(p.speed, -MAX_SPEED, "zero is not a speed");
        p.apply(PlaybackCommand::SetMaxSpeed);
        assert_eq!((p.speed, p.max_speed), (-10.0, true), "100 s in 10 s, backwards");
        p.apply(PlaybackCommand::SetSpeed(2.0));
        assert!(!p.max_speed);
    }

    #[test]
    fn jumps_home_end_and_events() {
        let mut p = pb().with_events([70.0, 20.0, f64::NAN, 20.0, 45.5]);
        assert_eq!(p.events, [20.0, 45.5, 70.0]);
        p.apply(PlaybackCommand::Jump(60.0));
        assert_eq!(p.time_s, 60.0);
        p.apply(PlaybackCommand::Jump(-120.0));
        assert_eq!(p.time_s, 0.0);
        p.apply(PlaybackCommand::NextEvent);
        assert_eq!(p.time_s, 20.0);
        p.apply(PlaybackCommand::NextEvent);
        assert_eq!(p.time_s, 45.5);
        p.apply(PlaybackCommand::PrevEvent);
        assert_eq!(p.time_s, 20.0);
        p.apply(PlaybackCommand::PrevEvent);
        assert_eq!(p.time_s, 20.0, "no event before the first: stays");
        p.apply(PlaybackCommand::ToEnd);
        assert_eq!(p.time_s, 100.0);
        p.apply(PlaybackCommand::NextEvent);
        assert_eq!(p.time_s, 100.0);
        p.apply(PlaybackCommand::PrevEvent);
        assert_eq!(p.time_s, 70.0);
        p.apply(PlaybackCommand::ToStart);
        assert_eq!(p.time_s, 0.0);
    }

    #[test]
    fn a_loop_wraps_both_ways_and_is_kept_inside_the_recording() {
        let mut p = pb();
        p.apply(PlaybackCommand::SetLoop(Some((60.0, 40.0))));
        assert_eq!((p.looping, p.time_s), (Some((40.0, 60.0)), 40.0), "time moves into the loop");
        p.apply(PlaybackCommand::SetSpeed(10.0));
        p.apply(PlaybackCommand::Play);
        assert_eq!(p.advance(2.5), 45.0, "60 + 5 wraps to 45");
        assert!(p.playing, "a loop does not stop");
        p.apply(PlaybackCommand::Reverse);
        assert_eq!(p.advance(1.0), 55.0, "40 - 5 wraps to 55");
        p.apply(PlaybackCommand::SetLoop(Some((-50.0, 1e9))));
        assert_eq!(p.looping, Some((0.0, 100.0)));
        p.apply(PlaybackCommand::SetLoop(Some((10.0, 10.5))));
        assert_eq!(p.looping, None, "shorter than a sample");
        p.apply(PlaybackCommand::SetLoop(None));
        assert_eq!(p.advance(100.0), 0.0);
        assert!(!p.playing);
    }
}
