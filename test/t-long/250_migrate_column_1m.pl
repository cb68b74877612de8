# migrate_column() end to end (issue 13, item 5), at scale: 1,000,000 rows
# converted in place while another session reads and writes; the rows of
# unknown children stop it until a decision; after the documented final
# step no file of the data directory outside pg_wal holds the plaintext.
# The same run on 3,000 rows is test/t/250_migrate_column.pl (make check);
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

ChildguardMigrate::run(rows => 1_000_000, batch_size => 10_000,
	writer_rounds => 3000, writer_sleep => 0.01, name => 'migrate_1m');
done_testing();
