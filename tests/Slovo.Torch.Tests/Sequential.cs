// libtorch has one global random generator per process: weight initialisation and dropout draw from it, and
// ManualSeed resets it. Tests that compare two seeded runs (exact resume, seeded reproducibility) would see other
// test classes' draws in between if classes ran in parallel, so this assembly's tests run one at a time.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
