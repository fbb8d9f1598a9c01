using System.Text;

namespace Slovo.Generation;

/// <summary>
/// One sequence being sampled, one token at a time, from scores the caller gets from a decoding batch: penalties, filtering,
/// drawing with its own seeded generator, and the stop rules (end of sequence, the token limit, a stop string in the text).
/// With a decoder it also keeps the sequence's text, through the one <see cref="IncrementalDetokenizer"/> and the one
/// <see cref="StopMatcher"/>: after each token, <see cref="NewText"/> is the text that became final (whole characters, never
/// the start of a possible stop string, cut before a stop string that ended the sequence). <see cref="Generator"/> drives one
/// per row; a scheduler that batches requests as they come drives one per request, gets the same tokens, and streams
/// <see cref="NewText"/>.
/// </summary>
public sealed class SequenceSampler
{
    private readonly GenerationOptions _options;
    private readonly PrefixConstraint? _prefix;
    private readonly Random _rng;
    private readonly List<int> _history;
    private readonly List<int> _generated = [];
    private readonly IncrementalDetokenizer? _detokenizer;
    private readonly StopMatcher _stops;
    private readonly StringBuilder _text = new();     // text released so far
    private readonly StringBuilder _unreleased = new(); // text decoded but not released yet (a possible start of a stop string)
    private string _prefixText = "";
    private double _logProb;

    /// <summary>A sampler continuing <paramref name="prompt"/> with its own <paramref name="seed"/>; <paramref name="decode"/> turns
    /// tokens into text, which the sampler keeps only when it needs it: for stop strings, or when <paramref name="keepText"/>
    /// asks for <see cref="NewText"/> (a stream).</summary>
    public SequenceSampler(IReadOnlyList<int> prompt, GenerationOptions options, int seed, Func<IReadOnlyList<int>, string>? decode = null,
                           PrefixConstraint? prefix = null, bool keepText = false)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        (_options, _prefix, _rng, _history) = (options, prefix, new Random(seed), [.. prompt]);
        _stops = new StopMatcher(options.StopStrings);
        if ((_stops.Any || keepText) && decode is null) throw new ArgumentException("stop strings and kept text need a decoder", nameof(decode));
        if (_stops.Any || keepText) _detokenizer = new IncrementalDetokenizer(decode!); // the generated text on its own, as a caller decodes it
        if (options.MaxTokens == 0) Result = new GenerationResult([], StopReason.MaxTokens, 0);
    }

    /// <summary>The finished continuation, or null while it goes on.</summary>
    public GenerationResult? Result { get; private set; }

    /// <summary>The tokens drawn so far.</summary>
    public IReadOnlyList<int> Generated => _generated;

    /// <summary>The text that the last token made final ("" when the sampler keeps no text).</summary>
    public string NewText { get; private set; } = "";

    /// <summary>All the final text so far; once the sequence ended, its whole text (without a stop string that ended it).</summary>
    public string Text => _text.ToString();

    /// <summary>Draws the next token from the row's scores and updates <see cref="Result"/> when the sequence ends.</summary>
    public int Next(float[] logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        bool early = _generated.Count < _options.MinTokens && (_options.EosToken is not null || _options.EndTokens.Count > 0);
        bool changes = early || _prefix is not null || _options.RepetitionPenalty != 1 || _options.NoRepeatNgramSize > 0;
        float[] l = changes ? (float[])logits.Clone() : logits;   // the scores are only read when nothing changes them
        LogitProcessor.ApplyPenalties(l, _history, _options);
        if (early)
        {
            if (_options.EosToken is { } eos) l[eos] = float.NegativeInfinity;
            foreach (int end in _options.EndTokens) l[end] = float.NegativeInfinity;
        }
        _prefix?.Mask(l, _prefixText);
        int token;
        if (_options.Greedy || _options.Temperature == 0)
        {
            // The distribution would be one-hot on the argmax: take it without building one over the whole vocabulary.
            token = LogitProcessor.ArgMax(l);
            if (float.IsNegativeInfinity(l[token])) throw new InvalidOperationException("every token is forbidden; relax the n-gram ban or the filters");
        }
        else token = LogitProcessor.Sample(LogitProcessor.Distribution(l, _options), _rng);
        _logProb += LogitProcessor.LogProbability(logits, token);
        if (_prefix is not null && _prefixText.Length < _prefix.Text.Length) _prefixText += _prefix.TextOf([token]);
        _generated.Add(token);
        _history.Add(token);
        long stopAt = -1;
        if (_detokenizer is not null)
        {
            string added = _detokenizer.Add(token);
            _unreleased.Append(added);
            stopAt = _stops.Feed(added);
        }
        if (_options.IsEnd(token)) Result = new GenerationResult(_generated, StopReason.Eos, _logProb);
        else if (stopAt >= 0) Result = new GenerationResult(_generated, StopReason.StopString, _logProb);
        else if (_generated.Count >= _options.MaxTokens) Result = new GenerationResult(_generated, StopReason.MaxTokens, _logProb);
        if (_detokenizer is not null) Release(stopAt);
        return token;
    }

    // Moves the text that can no longer change from _unreleased to _text, into NewText.
    private void Release(long stopAt)
    {
        long released = _text.Length;
        int take;
        if (stopAt >= 0) take = (int)(stopAt - released);            // up to the stop string, without it
        else if (Result is not null)
        {
            _unreleased.Append(_detokenizer!.Flush());                 // the end: an incomplete character as the decoder shows it
            take = _unreleased.Length;
        }
        else take = _unreleased.Length - Math.Min(_unreleased.Length, _stops.HeldBack);
        NewText = take > 0 ? _unreleased.ToString(0, take) : "";
        _text.Append(NewText);
        _unreleased.Remove(0, Math.Max(0, Math.Min(take, _unreleased.Length)));
    }
}
