//! A Zipf sampler by rejection-inversion (Hörmann & Derflinger, 1996).
//!
//! O(1) per sample with no table: rank `k` in `1..=n` is drawn with
//! probability proportional to `1 / k^s`. Rank 1 is the hottest key.

use rand::Rng;

/// Draws ranks `1..=n` with probability proportional to `k^-s`.
#[derive(Clone, Copy, Debug)]
pub struct Zipf {
    n: u64,
    s: f64,
    h_integral_x1: f64,
    h_integral_n: f64,
    squeeze: f64,
}

impl Zipf {
    /// A sampler over `n >= 1` ranks with exponent `s >= 0` (0 is uniform).
    pub fn new(n: u64, s: f64) -> Result<Self, String> {
        if n == 0 {
            return Err("Zipf needs at least one element".into());
        }
        if !(s.is_finite() && s >= 0.0) {
            return Err(format!("Zipf exponent must be finite and >= 0, got {s}"));
        }
        let mut z = Self {
            n,
            s,
            h_integral_x1: 0.0,
            h_integral_n: 0.0,
            squeeze: 0.0,
        };
        z.h_integral_x1 = z.h_integral(1.5) - 1.0;
        z.h_integral_n = z.h_integral(n as f64 + 0.5);
        z.squeeze = 2.0 - z.h_integral_inverse(z.h_integral(2.5) - z.h(2.0));
        Ok(z)
    }

    /// Draws one rank in `1..=n`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        if self.s == 0.0 {
            return rng.gen_range(1..=self.n);
        }
        // Bounded: the acceptance rate is well above 1/2 for any s > 0.
        for _ in 0..1000 {
            let u = self.h_integral_n + rng.gen::<f64>() * (self.h_integral_x1 - self.h_integral_n);
            let x = self.h_integral_inverse(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n as f64);
            if k - x <= self.squeeze || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
        1
    }

    /// Draws a zero-based index in `0..n` (rank minus one).
    pub fn sample_index<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        (self.sample(rng) - 1) as usize
    }

    /// H(x), an integral of h(x) = x^-s: `((x^(1-s)) - 1) / (1 - s)`, or ln x at s = 1.
    fn h_integral(&self, x: f64) -> f64 {
        let log_x = x.ln();
        helper2((1.0 - self.s) * log_x) * log_x
    }

    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }

    fn h_integral_inverse(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        (helper1(t) * x).exp()
    }
}

/// `ln(1 + x) / x`, accurate near 0.
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// `(e^x - 1) / x`, accurate near 0.
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn check_frequencies(n: u64, s: f64) {
        let z = Zipf::new(n, s).unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let draws = 400_000;
        let mut counts = vec![0u64; n as usize];
        for _ in 0..draws {
            let k = z.sample(&mut rng);
            assert!((1..=n).contains(&k));
            counts[(k - 1) as usize] += 1;
        }
        let norm: f64 = (1..=n).map(|k| (k as f64).powf(-s)).sum();
        for (i, &c) in counts.iter().enumerate() {
            let p = ((i + 1) as f64).powf(-s) / norm;
            let expected = p * draws as f64;
            let sd = (expected * (1.0 - p)).sqrt();
            assert!(
                (c as f64 - expected).abs() < 5.0 * sd + 1.0,
                "n={n} s={s} rank {} got {c} expected {expected:.0}",
                i + 1
            );
        }
    }

    #[test]
    fn matches_zipf_law_at_exponent_one() {
        check_frequencies(10, 1.0);
        check_frequencies(100, 1.0);
    }

    #[test]
    fn matches_other_exponents() {
        check_frequencies(20, 0.5);
        check_frequencies(20, 1.5);
        check_frequencies(20, 0.0);
    }

    #[test]
    fn hot_key_share_for_large_n() {
        // With n = 100k and s = 1 rank 1 has probability 1/H_n ≈ 8.3 %.
        let z = Zipf::new(100_000, 1.0).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let draws = 200_000;
        let ones = (0..draws).filter(|_| z.sample(&mut rng) == 1).count();
        let share = ones as f64 / draws as f64;
        assert!((0.077..0.090).contains(&share), "share {share}");
        assert!((0..1000).all(|_| z.sample_index(&mut rng) < 100_000));
    }

    #[test]
    fn single_element_and_bad_input() {
        let z = Zipf::new(1, 1.0).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        assert!((0..100).all(|_| z.sample(&mut rng) == 1));
        assert!(Zipf::new(0, 1.0).is_err());
        assert!(Zipf::new(10, -1.0).is_err());
        assert!(Zipf::new(10, f64::NAN).is_err());
    }
}
