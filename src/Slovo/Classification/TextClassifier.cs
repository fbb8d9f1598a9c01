using Slovo.Embeddings;
using Slovo.Torch;
using Slovo.Torch.NN;

namespace Slovo.Classification;

// Shapes: B batch, T time steps, E embedding size, H hidden size, D directions, F filters per width, C classes.

/// <summary>The encoder of a <see cref="TextClassifier"/>.</summary>
public enum EncoderKind
{
    /// <summary>Conv1d over embeddings with several kernel widths, max-over-time pooling.</summary>
    Cnn,
    /// <summary>A vanilla (tanh) RNN, libtorch's fused kernel.</summary>
    Rnn,
    /// <summary>libtorch's fused LSTM.</summary>
    Lstm,
    /// <summary>libtorch's fused GRU.</summary>
    Gru,
    /// <summary>The LSTM written out from its cell (<see cref="HandLstm"/>), with gate ablation.</summary>
    HandLstm,
}

/// <summary>How a recurrent encoder's outputs become one vector per text.</summary>
public enum Aggregation
{
    /// <summary>The final hidden states of the last layer (both directions concatenated).</summary>
    Final,
    /// <summary>The mean of the outputs over the real (non-pad) steps.</summary>
    Mean,
    /// <summary>The element-wise maximum of the outputs over the real steps.</summary>
    Max,
    /// <summary>A learned attention pooling: softmax over steps of v·tanh(W o_t), then the weighted sum.</summary>
    Attention,
}

/// <summary>Settings of <see cref="TextClassifier"/>.</summary>
public sealed record ClassifierOptions
{
    /// <summary>Vocabulary size.</summary>
    public required int VocabSize { get; init; }

    /// <summary>The padding id (zero embedding).</summary>
    public int PadId { get; init; }

    /// <summary>Number of classes C.</summary>
    public int Classes { get; init; } = 2;

    /// <summary>The encoder.</summary>
    public EncoderKind Encoder { get; init; } = EncoderKind.Lstm;

    /// <summary>Embedding size E.</summary>
    public int EmbeddingSize { get; init; } = 100;

    /// <summary>Recurrent hidden size H.</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>Recurrent layers.</summary>
    public int Layers { get; init; } = 1;

    /// <summary>Read the text in both directions.</summary>
    public bool Bidirectional { get; init; }

    /// <summary>How recurrent outputs are pooled.</summary>
    public Aggregation Aggregation { get; init; } = Aggregation.Final;

    /// <summary>CNN filters per kernel width F.</summary>
    public int Filters { get; init; } = 100;

    /// <summary>CNN kernel widths.</summary>
    public IReadOnlyList<int> KernelWidths { get; init; } = [3, 4, 5];

    /// <summary>Dropout on embeddings, between layers and before the output layer.</summary>
    public double Dropout { get; init; } = 0.3;

    /// <summary>Gates of the hand-written LSTM forced to 1.</summary>
    public LstmGates ForcedGates { get; init; }
}

/// <summary>Embedding → CNN or recurrent encoder → pooling → dropout → linear layer over the classes.</summary>
public sealed partial class TextClassifier : Module
{
    private readonly Embedding _embedding;
    private readonly Conv1d[] _convs = [];
    private readonly Recurrent? _rnn;                     // unidirectional: all layers at once
    private readonly Recurrent[] _directions = [];         // bidirectional: [layer·2 + direction], one layer each
    private readonly HandLstm? _hand;
    private readonly Linear? _attention, _attentionScore;
    private readonly Linear _head;

    /// <summary>The settings.</summary>
    public ClassifierOptions Options { get; }

    /// <summary>The shortest input the encoder accepts (the widest CNN kernel); shorter texts are padded to it.</summary>
    public int MinLength => Options.Encoder == EncoderKind.Cnn ? Options.KernelWidths.Max() : 1;

    /// <summary>Creates the model with PyTorch's default initialisation.</summary>
    public TextClassifier(ClassifierOptions o)
    {
        Options = o;
        _embedding = RegisterModule("embedding", new Embedding(o.VocabSize, o.EmbeddingSize, paddingIdx: o.PadId));
        int features;
        if (o.Encoder == EncoderKind.Cnn)
        {
            if (o.KernelWidths.Count == 0 || o.KernelWidths.Any(w => w < 1)) throw new ArgumentException("CNN kernel widths must be positive", nameof(o));
            _convs = o.KernelWidths.Select((w, i) => RegisterModule($"conv{i}", new Conv1d(o.EmbeddingSize, o.Filters, w))).ToArray();
            features = o.Filters * o.KernelWidths.Count;
        }
        else
        {
            int d = o.Bidirectional ? 2 : 1;
            double between = o.Layers > 1 ? o.Dropout : 0;
            if (o.Encoder == EncoderKind.HandLstm) _hand = RegisterModule("rnn", new HandLstm(o.EmbeddingSize, o.HiddenSize, o.Layers, o.Bidirectional, between, o.ForcedGates));
            else
            {
                if (o.ForcedGates != LstmGates.None) throw new ArgumentException("gate ablation needs the hand-written LSTM encoder", nameof(o));
                RecurrentKind kind = o.Encoder switch { EncoderKind.Rnn => RecurrentKind.RnnTanh, EncoderKind.Gru => RecurrentKind.Gru, _ => RecurrentKind.Lstm };
                // libtorch's fused kernels run on the padded batch without packing (packing made them ~7x slower here): a
                // sequence's real steps never see the padding after them, and the backward direction reads each sequence
                // reversed within its own length, so results equal a packed run.
                if (!o.Bidirectional) _rnn = RegisterModule("rnn", new Recurrent(kind, o.EmbeddingSize, o.HiddenSize, o.Layers, batchFirst: true, dropout: between));
                else
                    _directions = Enumerable.Range(0, 2 * o.Layers).Select(i => RegisterModule($"rnn_l{i / 2}{(i % 2 == 1 ? "_reverse" : "")}",
                        new Recurrent(kind, i < 2 ? o.EmbeddingSize : 2 * o.HiddenSize, o.HiddenSize, 1, batchFirst: true))).ToArray();
            }
            features = d * o.HiddenSize;
            if (o.Aggregation == Aggregation.Attention)
            {
                _attention = RegisterModule("attention", new Linear(features, features));
                _attentionScore = RegisterModule("attention_score", new Linear(features, 1, bias: false));
            }
        }
        _head = RegisterModule("head", new Linear(features, o.Classes));
    }

    /// <summary>Copies pretrained vectors into the embedding for every vocabulary token they hold; returns how many.</summary>
    public int InitializeEmbeddings(KeyedVectors vectors, IReadOnlyList<string> vocabulary, bool freeze = false) =>
        PretrainedEmbeddings.Copy(_embedding, vectors, vocabulary, Options.PadId, freeze);

    /// <summary>Logits (B, C) for ids (B, T) whose real lengths are <paramref name="lengths"/> (B, int64, each ≥ 1).</summary>
    public Tensor Forward(Tensor ids, Tensor lengths)
    {
        using var scope = DisposeScope.Begin();
        Tensor x = Dropout.Functional(_embedding.Forward(ids), Options.Dropout, Training);                  // (B, T, E)
        Tensor pooled;
        if (_convs.Length > 0)
        {
            Tensor channels = x.Transpose(1, 2);                                                            // (B, E, T)
            pooled = Tensor.Cat(_convs.Select(c => c.Forward(channels).Relu().Max(2).Values).ToArray(), 1); // (B, F·widths)
        }
        else
        {
            long batch = ids.Size(0), steps = ids.Size(1);
            Tensor mask = Tensor.Arange(0, steps, device: lengths.Device).Unsqueeze(0).Lt(lengths.Unsqueeze(1)).Unsqueeze(2); // (B, T, 1) true on real steps
            Tensor output, final;                                                                           // (B, T, D·H), (B, D·H)
            if (_hand is not null)
            {
                (output, Tensor h, _) = _hand.Forward(x, lengths);                                          // h: (L·D, B, H)
                int d = Options.Bidirectional ? 2 : 1;
                final = h.Narrow(0, h.Size(0) - d, d).Permute(1, 0, 2).Reshape(batch, -1);
            }
            else if (_rnn is not null)
            {
                (output, _, _) = _rnn.Run(x);
                output = output * mask.To(output.DType);
                final = Last(output, lengths);
            }
            else (output, final) = Bidirectional(x, lengths, mask);
            pooled = Options.Aggregation switch
            {
                Aggregation.Final => final,
                Aggregation.Mean => output.Sum(1) / lengths.Unsqueeze(1).To(output.DType),
                Aggregation.Max => output.MaskedFill(mask.LogicalNot(), double.NegativeInfinity).Max(1).Values,
                _ => Attend(output, mask),
            };
        }
        Tensor logits = _head.Forward(Dropout.Functional(pooled, Options.Dropout, Training));                 // (B, C)
        scope.Keep(logits);
        return logits;
    }

    /// <summary>Each row's output at its last real step: (B, T, F) → (B, F).</summary>
    private static Tensor Last(Tensor output, Tensor lengths)
    {
        Tensor index = (lengths - 1).Reshape(-1, 1, 1).Expand(output.Size(0), 1, output.Size(2));          // (B, 1, F)
        return output.Gather(1, index).Reshape(output.Size(0), -1);
    }

    /// <summary>For each row, the position of step t in the sequence reversed within its length (pads stay put): (B, T).</summary>
    private static Tensor ReverseIndex(Tensor lengths, long steps)
    {
        Tensor t = Tensor.Arange(0, steps, device: lengths.Device).Unsqueeze(0);                           // (1, T)
        Tensor len = lengths.Unsqueeze(1);                                                                 // (B, 1)
        return Tensor.Where(t.Lt(len), len - 1 - t, t.Expand(lengths.Size(0), steps));
    }

    private (Tensor Output, Tensor Final) Bidirectional(Tensor x, Tensor lengths, Tensor mask)
    {
        long batch = x.Size(0), steps = x.Size(1);
        Tensor rev = ReverseIndex(lengths, steps).Unsqueeze(2);                                           // (B, T, 1)
        Tensor mf = mask.To(x.DType);
        Tensor input = x, final = x;
        for (int layer = 0; layer < Options.Layers; ++layer)
        {
            if (layer > 0) input = Dropout.Functional(input, Options.Dropout, Training);
            (Tensor forward, _, _) = _directions[2 * layer].Run(input);                                    // (B, T, H)
            Tensor reversedInput = input.Gather(1, rev.Expand(batch, steps, input.Size(2)));
            (Tensor backward, _, _) = _directions[2 * layer + 1].Run(reversedInput);                       // (B, T, H), reversed order
            Tensor backwardLast = Last(backward, lengths);                                                 // its final state
            backward = backward.Gather(1, rev.Expand(batch, steps, Options.HiddenSize));
            input = Tensor.Cat([forward, backward], 2) * mf;                                               // (B, T, 2H)
            final = Tensor.Cat([Last(forward, lengths), backwardLast], 1);                                  // (B, 2H)
        }
        return (input, final);
    }

    private Tensor Attend(Tensor output, Tensor mask)
    {
        Tensor scores = _attentionScore!.Forward(_attention!.Forward(output).Tanh());                        // (B, T, 1)
        Tensor weights = scores.MaskedFill(mask.LogicalNot(), double.NegativeInfinity).Softmax(1);          // (B, T, 1)
        return (weights * output).Sum(1);                                                                    // (B, D·H)
    }
}
