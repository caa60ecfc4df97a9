using BenchmarkDotNet.Running;

// Pick benchmarks with --filter, e.g.:
//   dotnet run -c Release --project tests/Gateway.Benchmarks -- --filter '*' --job short
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
