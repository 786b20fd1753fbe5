import ArgumentParser
import Foundation

/// Rank 0 of an interactive `mpirun -np N cnx` taking the terminal.
///
/// Open MPI gives rank 0 a pipe for standard input (it forwards its own) and
/// leaves `mpirun` the terminal's foreground process group, so Ctrl-C would
/// reach `mpirun`, which aborts the job. When `mpirun` (rank 0's parent)
/// reads a terminal, rank 0 opens it (`/dev/tty`), makes its own process
/// group the foreground one — Ctrl-C then reaches rank 0's shell, which
/// stops a job at a step boundary on every rank — and puts it on standard
/// input, output and error for libedit. `restore` gives the foreground back.
final class TerminalTakeover {
    private let fd: Int32
    private let previousGroup: pid_t

    private init(fd: Int32, previousGroup: pid_t) {
        self.fd = fd
        self.previousGroup = previousGroup
    }

    /// Takes the launcher's terminal; nil when the launcher does not read one
    /// (`mpirun … < script`: the commands come through the pipe).
    /// - Throws: a one-line error when there is a terminal but it cannot be taken.
    static func ifLauncherReadsOne() throws -> TerminalTakeover? {
        guard let input = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(getppid())/fd/0"),
              input.hasPrefix("/dev/pts/") || input.hasPrefix("/dev/tty") else { return nil }
        let fd = open("/dev/tty", O_RDWR)
        guard fd >= 0 else {
            throw ValidationError("mpirun reads a terminal but rank 0 cannot open it (/dev/tty): run a script instead (mpirun -np N cnx run FILE)")
        }
        // A background process group may take the foreground only with SIGTTOU ignored.
        signal(SIGTTOU, SIG_IGN)
        let previous = tcgetpgrp(fd)
        guard tcsetpgrp(fd, getpgrp()) == 0 else {
            close(fd)
            throw ValidationError("rank 0 cannot take the terminal from mpirun (tcsetpgrp: errno \(errno)): run a script instead (mpirun -np N cnx run FILE)")
        }
        for target in [Int32(0), 1, 2] { dup2(fd, target) }
        return TerminalTakeover(fd: fd, previousGroup: previous)
    }

    /// Gives the terminal's foreground back to `mpirun`'s process group.
    func restore() {
        _ = tcsetpgrp(fd, previousGroup)
    }
}
