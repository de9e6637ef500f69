/* A shared object without op_spi_entry. */
const char no_entry_marker[] = "not a plugin";
