using Gateway.Policy;

namespace Gateway.Tests.Policy;

/// <summary>The optional <c>signals</c> section: SSF transmitters whose security events revoke tokens.</summary>
public sealed class PolicyLoaderSignalsTests : IDisposable
{
    private readonly PolicyTestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>The header's nine lines, then the section from line 10.</summary>
    private PolicyLoadResult Load(string signals) => _folder.LoadText(PolicyTestFolder.Header + signals);

    [Fact]
    public void LoadFromText_SignalsSection_Mapped()
    {
        var policy = PolicyAssert.Loaded(Load("""
            signals:
              max_age: 2m
              transmitters:
                - issuer: https://idp.example
                  audience: https://gateway.example/signals
            """));

        var signals = Assert.IsType<SignalSettings>(policy.Signals);
        Assert.Equal(TimeSpan.FromMinutes(2), signals.MaxAge);
        Assert.Equal([new SignalTransmitter("https://idp.example", "https://gateway.example/signals")], signals.Transmitters);
    }

    [Fact]
    public void LoadFromText_NoMaxAge_FiveMinutes_AndNoSection_Null()
    {
        var policy = PolicyAssert.Loaded(Load("""
            signals:
              transmitters: [ { issuer: https://idp.example, audience: gw } ]
            """));

        Assert.Equal(TimeSpan.FromMinutes(5), policy.Signals!.MaxAge);
        Assert.Null(PolicyAssert.Loaded(_folder.LoadText(PolicyTestFolder.Header)).Signals);
    }

    [Fact]
    public void LoadFromText_TransmitterNotAnIssuer_ErrorAtItsLine()
    {
        var result = Load("""
            signals:
              transmitters:
                - issuer: https://idp.exampel
                  audience: gw
            """);

        PolicyAssert.SingleError(result, 12, 15, "transmitter 'https://idp.exampel' in section 'signals' is not configured under 'issuers'");
    }

    [Fact]
    public void LoadFromText_MissingAudience_AndDuplicateTransmitter_AreErrors()
    {
        var result = Load("""
            signals:
              transmitters:
                - issuer: https://idp.example
                - issuer: https://idp.example
                  audience: gw
            """);

        PolicyAssert.HasError(result, 12, 7, "missing required key 'audience'");
        PolicyAssert.HasError(result, 13, 15, "is already listed at");
    }

    [Fact]
    public void LoadFromText_TransmittersNotAList_AndUnknownKey_AreErrors()
    {
        PolicyAssert.SingleError(Load("""
            signals:
              transmitters: https://idp.example
            """), 11, 17, "'transmitters' in section 'signals' must be a list");
        PolicyAssert.SingleError(Load("""
            signals:
              transmitters: [ { issuer: https://idp.example, audience: gw } ]
              max_agee: 1m
            """), 12, 3, "unknown key 'max_agee'");
    }
}
