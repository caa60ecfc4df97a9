using Gateway.Host.Commands;

return await GatewayCli.InvokeAsync(args);
