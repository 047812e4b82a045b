// MPI for Swift: the handles Open MPI and MPICH define as macros, as functions.
// No link line: pkg-config (mpi-c) supplies the library.
#include <mpi.h>

static inline MPI_Comm recur_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype recur_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype recur_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Op recur_mpi_sum(void) { return MPI_SUM; }
static inline void *recur_mpi_in_place(void) { return MPI_IN_PLACE; }
