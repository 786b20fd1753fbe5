import Tensors

/// The ranks other than 0 of an interactive `mpirun -np N cnx`: rank 0's
/// shell broadcasts each line it runs (`Repl`), and here every other rank
/// runs the same commands silently, with the same agreement after each
/// (`ScriptRunner.agree`: one outcome, rank 0's parameters after a load,
/// the sessions compared). An empty line from rank 0 means it left.
public enum ReplicaFollower {
    /// Runs rank 0's lines until it leaves; returns the exit status (0).
    public static func run(_ workbench: Workbench) -> Int32 {
        guard let replicas = workbench.compute.dataParallel else { return 0 }
        while true {
            let bytes = replicas.broadcast([], from: 0)
            if bytes.isEmpty { return 0 }
            // Rank 0 reports a line that does not parse; nothing runs anywhere.
            guard let commands = try? Tokenizer.commands(String(decoding: bytes, as: UTF8.self)) else { continue }
            for tokens in commands {
                let cell = workbench.execute(tokens, text: Repl.cellText(tokens))
                _ = ScriptRunner.agree(cell.error, tokens, workbench, replicas)
            }
        }
    }
}
