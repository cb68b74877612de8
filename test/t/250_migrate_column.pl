# migrate_column() end to end (issue 13, item 5), small: a few thousand rows
# converted in place while another session reads and writes; the rows of
# unknown children stop it until a decision; after the documented final
# step no file of the data directory outside pg_wal holds the plaintext.
# The same run on 1,000,000 rows is test/t-long/250_migrate_column_1m.pl;
# the run itself is in test/lib/ChildguardMigrate.pm.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardMigrate;

my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
chomp(my $pkglibdir = `$pg_config --pkglibdir`);
plan skip_all => "childguard.so is not installed in $pkglibdir"
  unless -e "$pkglibdir/childguard.so";

ChildguardMigrate::run(rows => 3000, batch_size => 100, steps => 45,
	writer_rounds => 300, writer_sleep => 0.002, name => 'migrate');
done_testing();
