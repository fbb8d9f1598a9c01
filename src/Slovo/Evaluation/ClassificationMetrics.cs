namespace Slovo.Evaluation;

/// <summary>Accuracy, F1 and the confusion matrix of predictions.</summary>
public sealed record ClassificationMetrics(double Accuracy, double MacroF1, double PositiveF1, long[,] Confusion)
{
    /// <summary>Computes the figures; <c>Confusion[gold, predicted]</c>.</summary>
    public static ClassificationMetrics Compute(IReadOnlyList<int> gold, IReadOnlyList<int> predicted, int classes = 2)
    {
        if (gold.Count != predicted.Count) throw new ArgumentException($"{gold.Count} labels but {predicted.Count} predictions", nameof(predicted));
        if (gold.Count == 0) throw new ArgumentException("nothing to score", nameof(gold));
        var m = new long[classes, classes];
        for (int i = 0; i < gold.Count; ++i) m[gold[i], predicted[i]]++;
        double correct = 0;
        var f1 = new double[classes];
        for (int k = 0; k < classes; ++k)
        {
            correct += m[k, k];
            double tp = m[k, k], fp = 0, fn = 0;
            for (int j = 0; j < classes; ++j)
                if (j != k) { fp += m[j, k]; fn += m[k, j]; }
            f1[k] = tp == 0 ? 0 : 2 * tp / (2 * tp + fp + fn);
        }
        return new ClassificationMetrics(correct / gold.Count, f1.Average(), classes > 1 ? f1[1] : f1[0], m);
    }
}
