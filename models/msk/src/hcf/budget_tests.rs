use super::compass_search;

/// Issue 16 (deadlines): the posture search's compass search ends within its rounds and
/// says whether it converged; on a bowl it finds the minimum within its budget, with one
/// round it gives up and says so (the caller turns that into a note naming the budget).
#[test]
fn issue_16_the_compass_search_says_when_it_gave_up() {
    let bowl = |x: &[f64]| Some(((), (x[0] - 3.0).powi(2) + (x[1] + 0.01).powi(2)));
    let ranges = [(-5.0, 10.0), (-0.04, 0.04)];
    let first = [15.0 / 8.0, 0.01];
    let start = (vec![0.0, 0.0], bowl(&[0.0, 0.0]).unwrap());
    let ((x, _), converged) = compass_search(start.clone(), &ranges, &first, super::POSTURE_SEARCH_ROUNDS, bowl);
    assert!(converged);
    assert!((x[0] - 3.0).abs() < 1e-2 && (x[1] + 0.01).abs() < 1e-4, "{x:?}");
    let ((x1, (_, v1)), converged) = compass_search(start, &ranges, &first, 1, bowl);
    assert!(!converged, "one round cannot shrink the steps a thousandfold");
    assert!(v1 < 9.0001 && x1 != vec![0.0, 0.0], "it kept the best it found: {x1:?}");
}
