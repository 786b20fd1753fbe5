#include <mpi.h>

/* Open MPI spells its handles as macros over addresses of globals
   (MPI_COMM_WORLD is ((MPI_Comm)&ompi_mpi_comm_world)), which Swift does not
   import: each handle cnx uses is returned by a function here. */

static inline MPI_Comm cnx_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype cnx_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cnx_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cnx_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype cnx_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op cnx_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op cnx_mpi_min(void) { return MPI_MIN; }
static inline MPI_Errhandler cnx_mpi_errors_are_fatal(void) { return MPI_ERRORS_ARE_FATAL; }
static inline void *cnx_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Request cnx_mpi_request_null(void) { return MPI_REQUEST_NULL; }
