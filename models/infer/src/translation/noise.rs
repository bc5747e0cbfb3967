//! The seeded noise of stepped translation graphs: SplitMix64 and Box-Muller, as the parent
//! module's docs define them (why hand-written: there).

/// SplitMix64 (Steele, Lea and Flood 2014; the generator Java's `SplittableRandom` uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator at state `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next output.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The noise of one slice: its own SplitMix64, seeded with the `(k+1)`-th output of SplitMix64
/// seeded with the run's seed.
#[derive(Debug, Clone)]
pub struct SliceNoise {
    rng: SplitMix64,
}

impl SliceNoise {
    /// Slice `k`'s generator for `seed`.
    pub fn new(seed: u64, k: usize) -> Self {
        let mut master = SplitMix64::new(seed);
        let mut s = 0;
        for _ in 0..=k {
            s = master.next_u64();
        }
        Self { rng: SplitMix64::new(s) }
    }

    /// Fills `out` with standard normal values (Box-Muller pairs; an odd length drops the last
    /// pair's second value).
    pub fn fill_normal(&mut self, out: &mut [f32]) {
        const TWO_53: f64 = 9_007_199_254_740_992.0;
        for pair in out.chunks_mut(2) {
            let (a, b) = (self.rng.next_u64(), self.rng.next_u64());
            let u1 = ((a >> 11) + 1) as f64 / TWO_53;
            let u2 = (b >> 11) as f64 / TWO_53;
            let r = (-2.0 * u1.ln()).sqrt();
            let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
            pair[0] = (r * c) as f32;
            if let Some(second) = pair.get_mut(1) {
                *second = (r * s) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_gives_the_reference_outputs() {
        // The first outputs for seed 1234567 (the C reference, splitmix64.c by Vigna).
        let mut g = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..3).map(|_| g.next_u64()).collect();
        assert_eq!(got, [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423]);
    }

    #[test]
    fn slice_noise_is_standard_normal_reproducible_and_differs_by_slice_and_seed() {
        let draw = |seed, k| {
            let mut v = vec![0f32; 20_001];
            SliceNoise::new(seed, k).fill_normal(&mut v);
            v
        };
        let a = draw(7, 3);
        assert_eq!(a, draw(7, 3), "same seed and slice, same bits");
        assert_ne!(a, draw(7, 4));
        assert_ne!(a, draw(8, 3));
        let n = a.len() as f64;
        let mean = a.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = a.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "mean {mean}, variance {var}");
        // Neighbouring slices' noise is not a shifted copy of each other's.
        let b = draw(7, 4);
        let corr = a.iter().zip(&b[1..]).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum::<f64>() / n;
        assert!(corr.abs() < 0.05, "{corr}");
    }
}
