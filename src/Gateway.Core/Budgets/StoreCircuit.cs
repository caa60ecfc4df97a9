using Microsoft.Extensions.Logging;

namespace Gateway.Budgets;

/// <summary>
/// The circuit breaker of <see cref="ResilientBudgetStore"/>. Closed: calls go through and their
/// outcomes are counted per sampling window; when at least <see cref="BudgetStoreOptions.MinimumThroughput"/>
/// calls of the window ended and at least <see cref="BudgetStoreOptions.FailureRatio"/> of them failed,
/// it opens. Open: every call is refused at once for <see cref="BudgetStoreOptions.BreakDuration"/>.
/// Then half-open: one call (a charge or a ping) is let through as a trial; its success closes the
/// circuit, its failure opens it again. Closed, a call costs a read of the state and two counters.
/// </summary>
internal sealed partial class StoreCircuit
{
    private const int Closed = 0;
    private const int Open = 1;
    private const int HalfOpen = 2;

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly double _failureRatio;
    private readonly int _minimumThroughput;
    private readonly long _samplingTicks;
    private readonly TimeSpan _breakDuration;
    private readonly Lock _gate = new();

    private int _state = Closed;
    private long _windowStart;
    private int _calls;
    private int _failures;
    private DateTimeOffset _openUntil;
    private bool _trialRunning;

    public StoreCircuit(BudgetStoreOptions options, TimeProvider time, ILogger logger)
    {
        _time = time;
        _logger = logger;
        _failureRatio = options.FailureRatio;
        _minimumThroughput = options.MinimumThroughput;
        _samplingTicks = (long)(options.SamplingDuration.Ticks * (double)time.TimestampFrequency / TimeSpan.TicksPerSecond);
        _breakDuration = options.BreakDuration;
        _windowStart = time.GetTimestamp();
    }

    /// <summary>False (with the time until the next trial) while open; <paramref name="trial"/> is set for the half-open circuit's one call.</summary>
    public bool TryEnter(out bool trial, out TimeSpan retryAfter)
    {
        trial = false;
        retryAfter = TimeSpan.Zero;
        if (Volatile.Read(ref _state) == Closed)
        {
            return true;
        }

        lock (_gate)
        {
            if (_state == Closed)
            {
                return true;
            }

            var now = _time.GetUtcNow();
            if (_state == Open)
            {
                if (now < _openUntil)
                {
                    retryAfter = _openUntil - now;
                    return false;
                }

                _state = HalfOpen;
                _trialRunning = false;
                LogHalfOpened(_logger);
            }

            if (_trialRunning)
            {
                // Another call is the trial; refuse the rest until it has answered.
                retryAfter = TimeSpan.FromMilliseconds(100);
                return false;
            }

            _trialRunning = true;
            trial = true;
            return true;
        }
    }

    public void Succeeded(bool trial)
    {
        if (trial)
        {
            lock (_gate)
            {
                _state = Closed;
                _trialRunning = false;
                ResetWindow(_time.GetTimestamp());
                LogClosed(_logger);
            }

            return;
        }

        Count(failed: false, "");
    }

    public void Failed(bool trial, string failure)
    {
        if (trial)
        {
            lock (_gate)
            {
                _trialRunning = false;
                OpenNow(failure);
            }

            return;
        }

        Count(failed: true, failure);
    }

    /// <summary>The call ended in a way that says nothing about the store (the caller cancelled, the charge was invalid).</summary>
    public void Abandoned(bool trial)
    {
        if (trial)
        {
            lock (_gate)
            {
                _trialRunning = false;
            }
        }
    }

    private void Count(bool failed, string failure)
    {
        var now = _time.GetTimestamp();
        if (now - Volatile.Read(ref _windowStart) >= _samplingTicks)
        {
            lock (_gate)
            {
                if (now - _windowStart >= _samplingTicks)
                {
                    ResetWindow(now);
                }
            }
        }

        var calls = Interlocked.Increment(ref _calls);
        if (!failed)
        {
            return;
        }

        var failures = Interlocked.Increment(ref _failures);
        if (calls >= _minimumThroughput && failures >= _failureRatio * calls)
        {
            lock (_gate)
            {
                if (_state == Closed)
                {
                    OpenNow(failure);
                }
            }
        }
    }

    private void OpenNow(string failure)
    {
        _openUntil = _time.GetUtcNow() + _breakDuration;
        Volatile.Write(ref _state, Open);
        LogOpened(_logger, _breakDuration, failure);
    }

    private void ResetWindow(long now)
    {
        Volatile.Write(ref _calls, 0);
        Volatile.Write(ref _failures, 0);
        Volatile.Write(ref _windowStart, now);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Budget store circuit opened for {BreakDuration} after repeated failures (last: {Failure}); calls are refused until it is tried again.")]
    private static partial void LogOpened(ILogger logger, TimeSpan breakDuration, string failure);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Budget store circuit half-open; the next call tries the store.")]
    private static partial void LogHalfOpened(ILogger logger);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Budget store circuit closed; the store answers again.")]
    private static partial void LogClosed(ILogger logger);
}
