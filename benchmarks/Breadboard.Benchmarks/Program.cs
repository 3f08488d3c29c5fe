using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/Breadboard.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Breadboard.Benchmarks.EngineBenchmarks).Assembly).Run(args);
