using System.Globalization;
using MetaMae.Cli;
using MetaMae.Runtime;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
return Cli.Execute(args);

namespace MetaMae.Cli
{
    /// <summary>The `metamae` command: one file per command; this one only dispatches. Exit codes: 0 ok, 1 a run failed
    /// (e.g. NaN loss), 2 bad usage or bad input.</summary>
    public static class Cli
    {
        public static int Execute(string[] args)
        {
            var root = new RootCommand("MetaMae: modality-agnostic self-supervised learning with a meta-learned " +
                "masked auto-encoder (NeurIPS 2023), in .NET.");
            root.Add(PretrainCommand.Create());
            root.Add(ProbeCommand.Create());
            root.Add(RunCommand.Create());
            root.Add(DatasetsCommand.Create());
            root.Add(EmbedCommand.Create());
            root.Add(BenchSuiteCommand.Create());
            root.Add(CompareCommand.Create());
            root.Add(BenchCommand.Create());
            root.Add(ExportCommand.Create());
            root.Add(ImportCommand.Create());
            root.Add(ShowCommand.Create());
            CliResume.CommandLine = args;
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                var msg = string.Join(" ",
                    parse.Errors[0].Message.Split('\n',
                        StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
                Console.Error.WriteLine("error: " + msg + " (see 'metamae --help')");
                return 2;
            }
            try
            {
                if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 160;
                // process-wide CPU math (MKL kernels, malloc) before any command's first matmul; --threads is set per command
                CpuMath.EnsureMallocRetains();
                CpuMath.EnsureMklKernels();
                return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            }
            catch (Exception e) when (e is ArgumentException or DataFormatException or InvalidDataException or FileNotFoundException
                                           or DirectoryNotFoundException or InvalidOperationException or NotSupportedException)
            {
                Console.Error.WriteLine("error: " + e.Message);
                return 2;
            }
            catch (ArithmeticException e)
            {
                Console.Error.WriteLine("error: " + e.Message);
                return 1;
            }
            catch (OutputWriteException e)
            {
                var dir = Directory.Exists(e.FilePath) ? e.FilePath : Path.GetDirectoryName(e.FilePath);
                bool saved = dir is not null && File.Exists(Path.Combine(dir, Checkpoint.FileName));
                Console.Error.WriteLine("error: " + e.Message + (saved ? " (the previous checkpoint is intact)" : ""));
                return 1;
            }
            catch (Exception e) when (e is UnauthorizedAccessException || OutputWriteException.IsWriteFailure(e))
            {
                // an output no command guarded itself (a plot, a result file): one line naming the path and the errno
                Console.Error.WriteLine("error: " + OutputWriteException.Describe(e));
                return 1;
            }
            catch (RunStoppedException e)
            {
                Console.Error.WriteLine($"interrupted by {GracefulStop.Signal}: {e.Message}; continue with: {CliResume.ResumeCommand()}");
                return GracefulStop.ExitCode;
            }
        }
    }
}
