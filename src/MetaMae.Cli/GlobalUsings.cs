// The namespaces every command file uses, once for the CLI project (each file adds only its own).
global using System.CommandLine;
global using System.Text.Json;
global using System.Text.Json.Nodes;
global using MetaMae.Data;
global using MetaMae.Data.Dabs;
global using MetaMae.Evaluation;
global using MetaMae.Model;
global using MetaMae.Objectives;
global using MetaMae.Training;
global using Spectre.Console;
global using static MetaMae.Cli.CliOptions;
global using static MetaMae.Cli.CliRuns;
global using static MetaMae.Cli.Report;
global using static TorchSharp.torch;
