using Slovo.Evaluation;

namespace Slovo.LanguageModels;

/// <summary>One epoch's outcome.</summary>
public sealed record LmEpochReport(int Epoch, double TrainLoss, LmEvaluation Valid, double Seconds, double TokensPerSecond, bool Improved);

/// <summary>What a training run did.</summary>
public sealed record LmTrainingResult(IReadOnlyList<LmEpochReport> History, int BestEpoch, LmEvaluation BestValid, bool StoppedEarly,
                                      long Steps, double Seconds, double TokensPerSecond);
