using System.Globalization;
using Gateway.Tokens;

// Mints COUNT distinct capability tokens, one per line, with the same key and claims as
// `gateway token mint` would (each with its own random jti), for the harness's token pool.
// Starting the CLI once per token would take minutes for a pool larger than the token cache.
//   dotnet token-pool.dll KEY_JWK ISS AUD ACTION,ACTION RESOURCE TTL_SECONDS COUNT OUT_FILE
if (args.Length != 8)
{
    await Console.Error.WriteLineAsync("usage: token-pool KEY_JWK ISS AUD ACTIONS(comma-separated) RESOURCE TTL_SECONDS COUNT OUT_FILE");
    return 2;
}

using var key = SigningKey.Load(args[0]);
var minter = new TokenMinter(key);
var request = new MintRequest
{
    Issuer = args[1],
    Audience = args[2],
    Subject = "user:load",
    Agent = "agent:load",
    Actions = args[3].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
    Resources = [args[4]],
    Ttl = TimeSpan.FromSeconds(int.Parse(args[5], CultureInfo.InvariantCulture)),
    // Budgets must never refuse a load run (the policy's limits are as large).
    MaxSteps = 1_000_000_000,
};
var count = int.Parse(args[6], CultureInfo.InvariantCulture);

await using var output = new StreamWriter(args[7]);
for (var i = 0; i < count; i++)
{
    await output.WriteLineAsync(minter.Mint(request));
}

return 0;
